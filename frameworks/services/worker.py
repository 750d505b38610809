"""The apply worker's transitions: claim under a lease, record each attempt and what AWS
answered, end applied or failed; and the reconciler's return of expired leases.

Import these from ``frameworks.services``. Every one is a conditional UPDATE of the change with
its history row in the same transaction, like the people's transitions. A worker acts on a
change only while it holds the lease (``lease_owner``): a worker that lost its lease to the
reconciler, and comes back, is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from frameworks import history, notifications
from frameworks.history import Actor, Entry
from frameworks.models import (
    ChangeKind,
    ChangeRequest,
    ChangeState,
    DocumentVersion,
    Event,
    Framework,
    Outcome,
)
from frameworks.services.base import Call, load, move, service
from frameworks.services.sync import is_stale, mirror_document, mirror_values, parse_answer

#: Keys whose values never reach the history, wherever they appear in a request or answer.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "x-amz-security-token",
        "x-amz-credential",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "accesskeyid",
        "secretaccesskey",
        "sessiontoken",
        "credentials",
    }
)


def scrub(value: Any) -> Any:
    """`value` with every credential-like member replaced, however deeply nested."""
    if isinstance(value, dict):
        return {
            key: "[removed]" if str(key).lower() in SECRET_KEYS else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def _load_for_worker(worker: str, action: str, change_id: int) -> tuple[Call, ChangeRequest]:
    call = Call(action, Actor.worker(worker))
    return call, load(call, change_id)


def _require_lease(call: Call, change: ChangeRequest, worker: str) -> None:
    """Only the worker holding the lease on an applying change may act on it."""
    if change.state != ChangeState.APPLYING or change.lease_owner != worker:
        raise call.refuse(
            f"Worker {worker} does not hold this change (it is {change.state}, held by "
            f"{change.lease_owner or 'nobody'}).",
            "lease_lost",
        )


def _clear_lease() -> dict[str, Any]:
    return {"lease_owner": "", "lease_until": None}


@service
def change_request_claim(
    *,
    change_id: int,
    worker: str,
    lease_seconds: float,
    max_attempts: int,
    handoff: str = "",
) -> ChangeRequest:
    """A worker takes an approved change to apply it, under a lease of `lease_seconds`. Only an
    approved change can be claimed, by one worker (the conditional update); a framework has at
    most one applying change (the one-open-change constraint). A change already claimed
    `max_attempts` times ends failed instead, so one that kills its worker cannot loop.

    `handoff` (issue 7): an applying change whose lease is held by exactly that owner is taken
    over too: the Celery retry a run handed its lease to, or a run whose process is known dead.
    The conditional update lets only one claimant take it."""
    call, change = _load_for_worker(worker, "claim", change_id)
    taking_over = bool(handoff) and (change.state, change.lease_owner) == (
        ChangeState.APPLYING,
        handoff,
    )
    if change.state != ChangeState.APPROVED and not taking_over:
        raise call.refuse(f"Change #{change.pk} is {change.state}, not approved.", "not_approved")
    if change.attempts >= max_attempts:
        error = {
            "code": "AttemptsExhausted",
            "message": f"Gave up after {change.attempts} attempts.",
            "words": f"Gave up after {change.attempts} attempts: the workers applying this "
            "change kept stopping before they finished.",
        }
        move(call, change, to=ChangeState.FAILED, last_error=error, **_clear_lease())
        history.append(
            Event.FAILED,
            call.actor,
            outcome=Outcome.ERROR,
            change_request=change,
            details={"error": error, "attempts": change.attempts},
        )
        notifications.author_news(change, "failed", note=notifications.failure_note(error))
        return change
    lease_until = timezone.now() + timedelta(seconds=lease_seconds)
    move(
        call,
        change,
        to=ChangeState.APPLYING,
        attempts=change.attempts + 1,
        lease_owner=worker,
        lease_until=lease_until,
    )
    history.append(
        Event.CLAIMED,
        call.actor,
        change_request=change,
        details={
            "attempt": change.attempts,
            "lease_until": lease_until,
            "taken_over_from": handoff if taking_over else None,
        },
    )
    return change


def change_request_release_expired(*, now: datetime | None = None) -> list[int]:
    """The reconciler returns applying changes whose lease has expired to approved, so another
    worker can take them up; each one that moves gets a history row. Returns their ids."""
    now = now or timezone.now()
    released = []
    actor = Actor.system("reconciler")
    with history.correlation(), transaction.atomic():
        expired = ChangeRequest.objects.filter(state=ChangeState.APPLYING, lease_until__lt=now)
        for change in expired:
            # Conditional on the lease still being the expired one: a worker renewing or
            # finishing at this moment wins, and the change is left alone.
            moved = ChangeRequest.objects.filter(
                pk=change.pk,
                version=change.version,
                state=ChangeState.APPLYING,
                lease_until__lt=now,
            ).update(
                state=ChangeState.APPROVED,
                version=change.version + 1,
                updated_at=now,
                **_clear_lease(),
            )
            if moved:
                released.append(change)
        history.append_many(
            [
                Entry(
                    Event.LEASE_EXPIRED,
                    actor,
                    change_request=change,
                    details={
                        "lease_owner": change.lease_owner,
                        "lease_until": change.lease_until,
                        "attempts": change.attempts,
                    },
                )
                for change in released
            ]
        )
    return [change.pk for change in released]


ATTEMPT_EVENTS = {
    "started": Event.ATTEMPT_STARTED,
    "succeeded": Event.ATTEMPT_SUCCEEDED,
    "failed": Event.ATTEMPT_FAILED,
}


@service
def change_request_record_attempt(
    *,
    change_id: int,
    worker: str,
    stage: str,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    request_id: str = "",
    duration_ms: int | None = None,
) -> None:
    """The lease holder records one AWS call: `stage` "started" before it is sent (so a worker
    that dies mid-call leaves a trace), then "succeeded" or "failed" with the answer or error.
    The request is recorded without credentials. A failure is also kept on the change."""
    call, change = _load_for_worker(worker, "record_attempt", change_id)
    _require_lease(call, change, worker)
    if stage not in ATTEMPT_EVENTS:
        raise call.refuse(f"{stage!r} is not a stage of an attempt.", "bad_stage")
    if stage == "failed":
        move(call, change, last_error=scrub(error))
    history.append(
        ATTEMPT_EVENTS[stage],
        call.actor,
        outcome=Outcome.ERROR if stage == "failed" else Outcome.OK,
        change_request=change,
        details={
            "attempt": change.attempts,
            "request": scrub(request),
            "response": scrub(response),
            "error": scrub(error),
            "request_id": request_id,
            "duration_ms": duration_ms,
        },
    )


@service
def change_request_record_deployment_status(
    *, change_id: int, worker: str, status: str, framework_status: str = "", poll: int = 0
) -> None:
    """The lease holder records a DeploymentStatus it saw while waiting for AWS to deploy."""
    call, change = _load_for_worker(worker, "record_deployment_status", change_id)
    _require_lease(call, change, worker)
    history.append(
        Event.DEPLOYMENT_STATUS,
        call.actor,
        change_request=change,
        details={
            "attempt": change.attempts,
            "deployment_status": status,
            "framework_status": framework_status,
            "poll": poll,
        },
    )


@service
def change_request_mark_stale(
    *, change_id: int, live: dict[str, Any] | None, worker: str | None = None
) -> ChangeRequest:
    """The live document (a DescribeFramework answer, None when the framework is gone) moved
    away from the change's base: the change becomes stale and cannot be approved or applied
    until its author rebases it. A submitted or approved change is marked by the system; an
    applying one only by the worker holding it, which then sends nothing."""
    if worker:
        call, change = _load_for_worker(worker, "mark_stale", change_id)
    else:
        call = Call("mark_stale", Actor.system())
        change = load(call, change_id)
    if worker:
        _require_lease(call, change, worker)
    elif change.state not in (ChangeState.SUBMITTED, ChangeState.APPROVED):
        raise call.refuse(f"Change #{change.pk} is {change.state}; it cannot go stale.", "not_open")
    doc = parse_answer(live) if live is not None else None
    if not is_stale(change, doc):
        raise call.refuse("The live document still matches this change's base.", "not_stale")
    state_before = change.state
    live_version = DocumentVersion.record(doc) if doc is not None else None
    move(call, change, to=ChangeState.STALE, **_clear_lease())
    history.append(
        Event.STALE,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=live_version,
        details={
            "state_before": state_before,
            "base_hash": change.base_version.content_hash if change.base_version else None,
            "live_hash": live_version.content_hash if live_version else None,
        },
    )
    notifications.author_news(change, "stale")  # issue 6: on commit
    return change


def _write_mirror(change: ChangeRequest, described: dict[str, Any] | None) -> Framework | None:
    """Record in the mirror what AWS reports after the change (a delete leaves it gone)."""
    now = timezone.now()
    if described is None:
        Framework.objects.filter(target=change.target, name=change.framework_name).update(
            present=False, gone_since=now, last_synced_at=now
        )
        return change.framework
    values = mirror_values(described, parse_answer(described), now)
    framework, _ = Framework.objects.update_or_create(
        target=change.target, name=change.framework_name, defaults=values
    )
    return framework


@service
def change_request_mark_applied(
    *, change_id: int, worker: str, described: dict[str, Any] | None = None
) -> ChangeRequest:
    """The lease holder records that AWS accepted the change and finished deploying it. For an
    update or create, `described` is DescribeFramework's answer afterwards: it becomes the
    mirror and a document version (the history row says whether it equals what was
    approved). A delete passes None."""
    call, change = _load_for_worker(worker, "mark_applied", change_id)
    _require_lease(call, change, worker)
    if change.kind != ChangeKind.DELETE and described is None:
        raise call.refuse("An update or create needs AWS's answer to record.", "no_answer")
    framework = _write_mirror(change, described)
    live = mirror_document(framework) if described is not None and framework else None
    applied = DocumentVersion.record(live) if live is not None else None
    move(
        call,
        change,
        to=ChangeState.APPLIED,
        applied_at=timezone.now(),
        framework=framework,
        **_clear_lease(),
    )
    history.append(
        Event.APPLIED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=applied,
        details={
            "attempt": change.attempts,
            "applied_hash": applied.content_hash if applied else None,
            "approved_hash": change.proposed_hash,
            "matches_approved": (applied.content_hash if applied else None) == change.proposed_hash,
            "deployment_status": (described or {}).get("DeploymentStatus"),
        },
    )
    notifications.author_news(change, "applied")  # issue 6: on commit
    return change


@service
def change_request_mark_failed(
    *, change_id: int, worker: str, error: dict[str, Any]
) -> ChangeRequest:
    """The lease holder gives up: a permanent error, a FAILED deployment or retries used up.
    `error` keeps AWS's raw code and message next to the words people are shown."""
    call, change = _load_for_worker(worker, "mark_failed", change_id)
    _require_lease(call, change, worker)
    move(call, change, to=ChangeState.FAILED, last_error=scrub(error), **_clear_lease())
    history.append(
        Event.FAILED,
        call.actor,
        outcome=Outcome.ERROR,
        change_request=change,
        details={"attempt": change.attempts, "error": scrub(error)},
    )
    notifications.author_news(change, "failed", note=notifications.failure_note(error))
    return change
