"""The apply worker's transitions: claim under a lease, record each attempt and what AWS
answered, end applied, failed or unconfirmed; the reconciler's return of expired leases; and
the settling of a change whose landed write sync or the reconciler found (``..._settle``).

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

from frameworks import document, history, notifications
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
from frameworks.services import live as aws_live
from frameworks.services.base import Call, load, move, service
from frameworks.services.live import is_stale, mirror_values, parse_answer

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
    change = load(call, change_id)
    return call, change


def _held(
    worker: str, action: str, change_id: int, change: ChangeRequest | None
) -> tuple[Call, ChangeRequest]:
    """The change a lease holder acts on. A run passes the change it claimed (`change`), kept
    current by the services it calls: no read, since every transition of the lease bumps the
    version that the conditional move checks (a reconciler's release, another claim). Without
    it, the row is read and the lease checked."""
    if change is None:
        call, change = _load_for_worker(worker, action, change_id)
        _require_lease(call, change, worker)
        return call, change
    call = Call(action, Actor.worker(worker), change=change, change_id=change.pk)
    call.target, call.framework_name = change.target, change.framework_name
    return call, change


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


def attempts_left(change: ChangeRequest, max_attempts: int) -> bool:
    """Whether a claim may still try `change` (each claim counts an attempt)."""
    return change.attempts < max_attempts


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

    `handoff`: an applying change whose lease is held by exactly that owner is taken
    over too: the Celery retry a run handed its lease to, or a run whose process is known dead.
    The conditional update lets only one claimant take it."""
    call, change = _load_for_worker(worker, "claim", change_id)
    taking_over = bool(handoff) and (change.state, change.lease_owner) == (
        ChangeState.APPLYING,
        handoff,
    )
    if change.state != ChangeState.APPROVED and not taking_over:
        raise call.refuse(f"Change #{change.pk} is {change.state}, not approved.", "not_approved")
    if not attempts_left(change, max_attempts):
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
    change: ChangeRequest | None = None,
    approvals: list[dict[str, Any]] | None = None,
) -> None:
    """The lease holder records one AWS call: `stage` "started" before it is sent (so a worker
    that dies mid-call leaves a trace), then "succeeded" or "failed" with the answer or error.
    The request is recorded without credentials. A failure is also kept on the change.
    `approvals`: the approvals a write was checked against (``approvals.check_request``),
    named in its "started" row so ``verify_history`` can check them again."""
    call, change = _held(worker, "record_attempt", change_id, change)
    if (
        stage == "started"
        and not ChangeRequest.objects.filter(
            pk=change.pk, version=change.version, state=ChangeState.APPLYING, lease_owner=worker
        ).exists()
    ):
        # Just before a write is sent: the one moment the lease is read again, however the
        # change was passed.
        raise call.refuse(f"Worker {worker} no longer holds this change.", "lease_lost")
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
            **({"approvals": approvals} if approvals is not None else {}),
        },
    )


@service
def change_request_record_deployment_status(
    *,
    change_id: int,
    worker: str,
    status: str,
    framework_status: str = "",
    poll: int = 0,
    change: ChangeRequest | None = None,
) -> None:
    """The lease holder records a DeploymentStatus it saw while waiting for AWS to deploy."""
    call, change = _held(worker, "record_deployment_status", change_id, change)
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
    return _record_stale(call, change, doc)


def _record_stale(
    call: Call, change: ChangeRequest, doc: document.Document | None
) -> ChangeRequest:
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
    notifications.author_news(change, "stale")  # on commit
    return change


def _write_mirror(change: ChangeRequest, live: aws_live.Live) -> int | None:
    """Record in the mirror what AWS reports after the change (a delete leaves it gone).
    Returns the mirror row's id."""
    now = timezone.now()
    rows = Framework.objects.filter(target_id=change.target_id, name=change.framework_name)
    if live.answer is None:
        rows.update(present=False, gone_since=now, last_synced_at=now)
        return change.framework_id
    values = mirror_values(live.answer, live.document, now, digest=live.hash or "")
    if change.framework_id and rows.filter(pk=change.framework_id).update(**values):
        return change.framework_id
    framework, _ = Framework.objects.update_or_create(
        target_id=change.target_id, name=change.framework_name, defaults=values
    )
    return framework.pk


def _record_applied(
    call: Call,
    change: ChangeRequest,
    described: dict[str, Any] | None,
    *,
    live: aws_live.Live | None = None,
    details: dict[str, Any] | None = None,
) -> ChangeRequest:
    """Move `change` to applied from what AWS reports (`described`; None after a delete;
    `live`: the same answer already parsed and hashed, if the caller has it)."""
    if change.kind != ChangeKind.DELETE and described is None:
        raise call.refuse("An update or create needs AWS's answer to record.", "no_answer")
    if live is None or live.answer is not described:
        live = aws_live.Live(described)
    framework_id = _write_mirror(change, live)
    applied = None
    if live.document is not None:
        # Most often AWS holds exactly what was approved: that version exists already.
        if live.hash == change.proposed_hash and change.proposed_version_id:
            applied = change.proposed_version
        else:
            applied = DocumentVersion.record(live.document)
    move(
        call,
        change,
        to=ChangeState.APPLIED,
        applied_at=timezone.now(),
        framework_id=framework_id,
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
            **(details or {}),
        },
    )
    notifications.author_news(change, "applied")  # on commit
    return change


def _record_failed(
    call: Call, change: ChangeRequest, error: dict[str, Any], **details: Any
) -> ChangeRequest:
    move(call, change, to=ChangeState.FAILED, last_error=scrub(error), **_clear_lease())
    history.append(
        Event.FAILED,
        call.actor,
        outcome=Outcome.ERROR,
        change_request=change,
        details={"attempt": change.attempts, "error": scrub(error), **details},
    )
    notifications.author_news(change, "failed", note=notifications.failure_note(error))
    return change


@service
def change_request_mark_applied(
    *,
    change_id: int,
    worker: str,
    described: dict[str, Any] | None = None,
    change: ChangeRequest | None = None,
    live: aws_live.Live | None = None,
) -> ChangeRequest:
    """The lease holder records that AWS accepted the change and finished deploying it. For an
    update or create, `described` is DescribeFramework's answer afterwards: it becomes the
    mirror and a document version (the history row says whether it equals what was
    approved). A delete passes None."""
    call, change = _held(worker, "mark_applied", change_id, change)
    return _record_applied(call, change, described, live=live)


#: What people are told of an unconfirmed change (the page, the e-mail, the history).
UNCONFIRMED_WORDS = "AWS accepted the change; its deployment could not be confirmed."


@service
def change_request_mark_unconfirmed(
    *,
    change_id: int,
    worker: str,
    last_status: str = "",
    error: dict[str, Any] | None = None,
    change: ChangeRequest | None = None,
) -> ChangeRequest:
    """The lease holder waited ``APPLY_DEPLOYMENT_WAIT_SECONDS`` after AWS accepted the change
    and still does not know how its deployment ended (it was still running, or AWS could not be
    read). The change keeps its framework; sync or the reconciler settles it from what AWS holds.
    Attempts are not spent: the write is not sent again."""
    call, change = _held(worker, "mark_unconfirmed", change_id, change)
    words = UNCONFIRMED_WORDS
    if error:
        words = f"{words} {error.get('words', '')}".strip()
    kept = {"code": "DeploymentUnconfirmed", "words": words, "error": scrub(error)}
    move(call, change, to=ChangeState.UNCONFIRMED, last_error=kept, **_clear_lease())
    history.append(
        Event.UNCONFIRMED,
        call.actor,
        change_request=change,
        details={
            "attempt": change.attempts,
            "deployment_status": last_status or None,
            "error": scrub(error),
            "words": UNCONFIRMED_WORDS,
        },
    )
    notifications.author_news(change, "unconfirmed")  # on commit
    return change


#: What a change that AWS accepted but does not hold is failed with.
NOT_HELD = {
    "code": "NotHeldByAws",
    "words": "AWS accepted the change, but AWS holds the document it was to replace: the change "
    "did not take effect. Start a new change from this one to try again.",
}


@service
def change_request_settle(
    *, change_id: int, described: dict[str, Any] | None, by: str = "sync"
) -> ChangeRequest:
    """Sync or the reconciler found the live document of an approved or unconfirmed change
    (`described`, None when AWS has no such framework) and settles it as the worker would have:
    our landed write deployed → applied, its deployment FAILED → failed, drift → stale. An
    unconfirmed change whose write AWS does not hold ends failed. Refused while the deployment
    still runs (settled next time) and for an approved change AWS does not hold yet (a worker
    will send it)."""
    actor = Actor.sync() if by == "sync" else Actor.system(by)
    call = Call("settle", actor)
    change = load(call, change_id)
    if change.state not in (ChangeState.APPROVED, ChangeState.UNCONFIRMED):
        raise call.refuse(f"Change #{change.pk} is {change.state}; nothing to settle.", "not_open")
    live = aws_live.Live(described)
    sent = bool(aws_live.delete_sent([change.pk])) if change.kind == ChangeKind.DELETE else False
    verdict = aws_live.verdict(change, live, sent=sent)
    found = {"settled_by": by, "state_before": change.state}
    if verdict == aws_live.APPLIED:
        return _record_applied(call, change, described, details=found)
    if verdict == aws_live.FAILED:
        error = {
            "code": "DeploymentFailed",
            "words": "AWS accepted the change but could not deploy its controls (the deployment "
            "FAILED).",
            "message": f"DeploymentStatus is {live.status}",
            "operation": "DescribeFramework",
            "deployment_status": live.status,
        }
        return _record_failed(call, change, error, **found)
    if verdict == aws_live.STALE:
        return _record_stale(call, change, live.document)
    if verdict == aws_live.SEND and change.state == ChangeState.UNCONFIRMED:
        return _record_failed(call, change, dict(NOT_HELD), **found)
    raise call.refuse(
        f"Change #{change.pk} cannot be settled yet ({verdict}).", f"not_settled_{verdict}"
    )


@service
def change_request_mark_failed(
    *, change_id: int, worker: str, error: dict[str, Any], change: ChangeRequest | None = None
) -> ChangeRequest:
    """The lease holder gives up: a permanent error, a FAILED deployment or retries used up.
    `error` keeps AWS's raw code and message next to the words people are shown."""
    call, change = _held(worker, "mark_failed", change_id, change)
    return _record_failed(call, change, error)


#: What a change refused before sending is failed with, by reason.
REFUSED_TO_SEND = {
    "not_approved": {
        "code": "NotApproved",
        "event": Event.NOT_APPROVED_REFUSED,
        "words": "What would have been sent is not what was approved, so nothing was sent to "
        "AWS. The change's rows in the database were changed outside the console; tell an "
        "administrator, and start a new change from this one once they have looked.",
    },
    "tampered": {
        "code": "VersionTampered",
        "event": Event.VERSION_TAMPERED,
        "words": "A document version of this change was changed in the database after it was "
        "stored (its document no longer matches its hash), so nothing was sent to AWS. Tell an "
        "administrator.",
    },
}


@service
def change_request_refuse_to_send(
    *,
    change_id: int,
    worker: str,
    reason: str,
    details: dict[str, Any],
    change: ChangeRequest | None = None,
) -> ChangeRequest:
    """The lease holder found, just before a call to AWS, that what it would send is not what
    was approved (``reason`` "not_approved": the hash of the request is not the hash of enough
    approvals whose MACs verify) or that a version of the change was edited in the database
    ("tampered"). Nothing is sent: the change fails, with a security row saying what was found
    and the failure in the same transaction."""
    call, change = _held(worker, "refuse_to_send", change_id, change)
    kind = REFUSED_TO_SEND[reason]
    error = {
        "code": kind["code"],
        "words": kind["words"],
        "message": details.get("words", ""),
    }
    move(call, change, to=ChangeState.FAILED, last_error=error, **_clear_lease())
    history.append_many(
        [
            Entry(
                kind["event"],
                call.actor,
                outcome=Outcome.DENIED,
                change_request=change,
                details={"attempt": change.attempts, "nothing_sent": True, **details},
            ),
            Entry(
                Event.FAILED,
                call.actor,
                outcome=Outcome.ERROR,
                change_request=change,
                details={"attempt": change.attempts, "error": error},
            ),
        ]
    )
    notifications.author_news(change, "failed", note=notifications.failure_note(error))
    return change
