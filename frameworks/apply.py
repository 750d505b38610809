"""Apply an approved change to AWS exactly once, whatever fails in between.

The database is the source of truth. A run of ``change_request_apply`` (one Celery task
execution) claims the change under a lease, asks AWS what it holds now, sends the approved
document once with an IdempotencyToken derived from the change, and polls the deployment until it
ends; every step is a service that moves the change with a conditional UPDATE and writes its
history row. The broker only carries "look at change N": a lost message delays a change until the
reconciler (``changes_reconcile``) enqueues it again, a duplicate finds the change claimed.

One run, step by step:

1. **Claim** (``worker.change_request_claim``): approved → applying, ``attempts`` + 1, a lease
   of ``APPLY_LEASE_SECONDS`` renewed as the run goes. A retry of this run takes the change over
   from the lease this run handed it, a redelivered message from a run whose process died on
   this host at once; a change whose attempts are used up ends failed.
2. **Describe.** If AWS holds the approved document with this change's token, the call already
   landed (a worker died after AWS accepted it): go straight to 5 without a second call. If the
   live document moved away from the change's base, the change is stale and nothing is sent.
   While a deployment is running, wait (poll), then look again.
3. **The call**: UpdateFramework / CreateFramework with the full approved document and
   ``idempotency_token(change)``, or DeleteFramework; ``max_attempts=1`` so botocore sends exactly
   one HTTP request, recorded before it is sent and after it answers.
4. **Errors** (``aws.ERRORS``): a transient one hands the lease to a Celery retry after a
   full-jitter exponential delay, while attempts and total time last; a permanent one fails the
   change at once, in plain words with AWS's raw code.
5. **Poll** DescribeFramework until the deployment ends: COMPLETED → applied, with the mirror and
   a document version from what AWS reports; FAILED → failed. A run that waited
   ``APPLY_DEPLOYMENT_WAIT_SECONDS`` lets go and retries; the retry finds its own token (step 2).

Steps 2 and 5 each start their first DescribeFramework early, on a look-ahead thread with no
database (``_look_ahead``): while the claim is written, and while the write's answer is (the
README's "Applying changes").

Stage hooks (``APPLY_STAGE_HOOK_DIR``) let chaos tests stop a worker at a named stage and kill it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from frameworks import apply_config, apply_tags, approvals, aws, document
from frameworks.models import (
    ChangeKind,
    ChangeRequest,
    ChangeState,
    Event,
    HistoryEvent,
    TamperedVersion,
    Target,
)
from frameworks.services import live as aws_live
from frameworks.services import worker
from frameworks.services.base import TransitionRefused

log = logging.getLogger(__name__)

#: Where a chaos test can stop a worker (see ``_stage``).
STAGES = ("claimed", "before_call", "after_call", "polling", "after_tag_call")

DEPLOYMENT_FAILED = {
    "code": "DeploymentFailed",
    "words": (
        "AWS accepted the change but could not deploy its controls (the deployment FAILED). "
        "The framework in AWS now holds the approved document in a failed state; start a new "
        "change from this one to correct it."
    ),
}
DELETE_FAILED_WORDS = "AWS could not delete the framework (the deletion FAILED)."
STILL_DEPLOYING = "DeploymentInProgress"
STILL_DEPLOYING_WORDS = "A deployment of this framework was still running in AWS."

# Re-exported: what AWS holds and what it means live in services.live, shared with sync.
idempotency_token = aws_live.idempotency_token
deployment_state = document.deployment_state  # what a DeploymentStatus means: the core's
Live = aws_live.Live


@dataclass(frozen=True)
class ApplyResult:
    """What a run ended in: applied, failed, stale, unconfirmed, retry (after ``retry_in``
    seconds) or skipped (another run holds the change, or it is not waiting to be applied)."""

    outcome: str
    retry_in: float | None = None
    detail: str = ""


class LeaseLost(Exception):
    """This run no longer holds the change (the reconciler gave it to another worker)."""


class StillDeploying(Exception):
    """A run waited as long as it may for a deployment that is still running."""


class Unconfirmed(Exception):
    """AWS accepted the write, but how its deployment ended could not be learnt in time."""

    def __init__(self, error: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.error = error


# --- the pieces a test can check on their own ----------------------------------------------


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt - 1))].

    `attempt` is the attempt that just failed (1 for the first). The jitter spreads workers that
    failed together (a throttled account, AWS briefly down) so they do not return together."""
    ceiling = min(cap, base * 2 ** max(0, min(attempt - 1, 32)))
    return (rng or random).uniform(0, ceiling)


def handoff_owner(task_id: str, retries: int) -> str:
    """The lease owner a run hands a change to while its Celery retry number `retries` waits.
    Only that retry can take the change over (``change_request_claim(handoff=...)``)."""
    return f"retry:{task_id}:{retries}"


# --- what AWS answered ----------------------------------------------------------------------


def _answer(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _request_id(response: dict[str, Any]) -> str:
    return (response.get("ResponseMetadata") or {}).get("RequestId", "")


def error_details(exc: aws.AwsError, **extra: Any) -> dict[str, Any]:
    """An AWS error as the change and its history keep it: plain words and the raw answer."""
    return {**exc.as_dict(), "words": exc.words, **extra}


# --- one run --------------------------------------------------------------------------------


def before_sending(
    change: ChangeRequest, operation: str, kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    """The last point before the write leaves for AWS: `operation` with `kwargs` (the approved
    document) is exactly what will be sent for `change`. A check that must hold at the moment
    of sending raises here, and nothing is sent: the hash of exactly this request must be the
    one enough verified approvals approved (``approvals.NotApproved`` otherwise). Returns
    those approvals, as the request's history row names them."""
    counted = approvals.check_request(change, *approvals.what_is_sent(change, operation, kwargs))
    _stage("before_call", change.pk)
    return approvals.approvals_record(counted)


class _Run:
    """One execution of the apply task for one change, holding its lease."""

    def __init__(self, change: ChangeRequest, owner: str, task_id: str, retries: int) -> None:
        self.change = change
        self.owner = owner
        self.task_id = task_id
        self.retries = retries
        self.token = idempotency_token(change)
        self.lease_until = time.monotonic() + settings.APPLY_LEASE_SECONDS
        self.deadline = time.monotonic() + settings.APPLY_DEPLOYMENT_WAIT_SECONDS
        self.last_status: str | None = None
        self.polls = 0
        # This run sent the write (or found an earlier run's "request sent" row), and AWS
        # accepted it (this run's call answered, or the live document shows it landed).
        self.sent = False
        self.accepted = False
        # A DescribeFramework already on its way (``_look_ahead``): the run's first, sent while
        # the claim was written, or the first poll's, sent while the write's answer is recorded
        # (``send``). ``describe`` takes its result.
        self.ahead: Future[Live] | None = None

    @property
    def target(self) -> Any:
        return self.change.target

    @property
    def name(self) -> str:
        return self.change.framework_name

    # --- the lease ---

    def renew(self) -> None:
        """Keep the lease: renewed when half of it is gone, so a quick run never writes."""
        lease = settings.APPLY_LEASE_SECONDS
        if time.monotonic() < self.lease_until - lease / 2:
            return
        self.lease_until = time.monotonic() + lease
        renewed = ChangeRequest.objects.filter(
            pk=self.change.pk, state=ChangeState.APPLYING, lease_owner=self.owner
        ).update(lease_until=timezone.now() + timedelta(seconds=lease))
        if not renewed:
            raise LeaseLost

    # --- AWS ---

    def look(self) -> Live:
        return look(self.target, self.name)

    def describe(self, *, record: bool = True) -> Live:
        """What AWS holds now: the look started ahead, if there is one, else a new one."""
        self.renew()
        ahead, self.ahead = self.ahead, None
        try:
            return ahead.result() if ahead is not None else self.look()
        except aws.AwsError as exc:
            if record:
                request = {"operation": "DescribeFramework", "FrameworkName": self.name}
                self.record_error(exc, request)
            raise

    def poll(self) -> Live:
        """Describe once AWS accepted the write: a failure to read does not undo that, nor
        spend an attempt. Look again with backoff (the first failure of a streak recorded)
        until the deployment wait is over; then the outcome is unconfirmed."""
        failures = 0
        while True:
            try:
                return self.describe(record=failures == 0)
            except aws.AwsError as exc:
                error = error_details(exc)
                if not exc.transient:
                    raise Unconfirmed(error) from exc
                failures += 1
                delay = backoff_seconds(
                    failures,
                    base=max(settings.APPLY_RETRY_BASE_SECONDS, 0.05),
                    # Never so long that the lease would lapse in the pause.
                    cap=min(
                        settings.APPLY_RETRY_MAX_DELAY_SECONDS, settings.APPLY_LEASE_SECONDS / 2
                    ),
                )
                if time.monotonic() + delay >= self.deadline:
                    raise Unconfirmed(error) from exc
                _pause(delay)

    def record_error(
        self, exc: aws.AwsError, request: dict[str, Any], ms: int | None = None
    ) -> None:
        worker.change_request_record_attempt(
            change_id=self.change.pk,
            change=self.change,
            worker=self.owner,
            stage="failed",
            request=request,
            error=error_details(exc),
            request_id=exc.request_id,
            duration_ms=ms,
        )

    @cached_property
    def approved(self) -> document.Document:
        """The approved document, parsed once per run."""
        assert self.change.proposed_version is not None  # a create or an update proposes one
        return self.change.proposed_version.as_document()

    def request(self) -> tuple[str, dict[str, Any]]:
        """The operation and its arguments: the full approved document, never a diff."""
        change = self.change
        if change.kind == ChangeKind.DELETE:
            return "DeleteFramework", {"FrameworkName": self.name}
        kwargs = document.update_kwargs(self.approved, self.name)
        if change.kind == ChangeKind.UPDATE:
            return "UpdateFramework", kwargs
        # A version keeps no tags (UpdateFramework cannot change them); a create sends the
        # ones its approvals are bound to.
        tags = change.proposed_tags
        if tags:
            kwargs["FrameworkTags"] = dict(tags)
        return "CreateFramework", kwargs

    def send(self, operation: str, kwargs: dict[str, Any]) -> None:
        """The one write of the approved document, checked against its approvals
        (``before_sending``), recorded before it is sent (naming them) and after it answers."""
        counted = before_sending(self.change, operation, kwargs)
        recorded = {"operation": operation, **kwargs}
        if operation != "DeleteFramework":
            recorded["IdempotencyToken"] = self.token
        self.renew()
        worker.change_request_record_attempt(
            change_id=self.change.pk,
            change=self.change,
            worker=self.owner,
            stage="started",
            request=recorded,
            approvals=counted,
        )
        self.sent = True
        started = time.monotonic()
        try:
            if operation == "UpdateFramework":
                response = aws.update_framework(self.target, kwargs, token=self.token)
            elif operation == "CreateFramework":
                response = aws.create_framework(self.target, kwargs, token=self.token)
            else:
                response = aws.delete_framework(self.target, self.name)
        except aws.AwsError as exc:
            self.record_error(exc, recorded, _ms(started))
            raise
        self.accepted = True
        _stage("after_call", self.change.pk)
        self.ahead = _look_ahead(self.look)
        worker.change_request_record_attempt(
            change_id=self.change.pk,
            change=self.change,
            worker=self.owner,
            stage="succeeded",
            request=recorded,
            response=_answer(response),
            request_id=_request_id(response),
            duration_ms=_ms(started),
        )

    # --- deciding ---

    def verdict(self, live: Live) -> str:
        """What the live document says of this change (``services.live.verdict``)."""
        sent = self.sent
        # Gone (or going) counts as our delete only if an earlier run sent it.
        if (
            not sent
            and self.change.kind == ChangeKind.DELETE
            and aws_live.landed(self.change, live, sent=True)
        ):
            sent = self.sent = bool(aws_live.delete_sent([self.change.pk]))
        return aws_live.verdict(self.change, live, sent=sent, token=self.token)

    def see(self, live: Live) -> None:
        """Record each deployment status the first time it is seen."""
        status = live.status if live.exists else "GONE"
        if status != self.last_status:
            worker.change_request_record_deployment_status(
                change_id=self.change.pk,
                change=self.change,
                worker=self.owner,
                status=status,
                framework_status=live.framework_status,
                poll=self.polls,
            )
            self.last_status = status

    def wait(self) -> Live:
        """Let a deployment run a while, then look again."""
        if time.monotonic() >= self.deadline:
            raise Unconfirmed() if self.accepted else StillDeploying
        # Deployments often end within seconds: look again soon, then every interval.
        _pause(min(settings.APPLY_POLL_INTERVAL_SECONDS, 0.5 * 2**self.polls))
        self.polls += 1
        return self.poll() if self.accepted else self.describe()

    def apply(self) -> ApplyResult:
        live = self.describe()
        while True:
            verdict = self.verdict(live)
            if verdict == aws_live.STALE:
                worker.change_request_mark_stale(
                    change_id=self.change.pk, live=live.answer, worker=self.owner
                )
                return ApplyResult("stale")
            if verdict != aws_live.SEND:
                # An earlier run's write landed (its worker died after AWS accepted it).
                self.accepted = True
                return self.finish(live)
            if not live.running:
                refused = apply_tags.check_before_call(self, live)
                if refused:
                    return ApplyResult(refused)
                operation, kwargs = self.request()
                self.send(operation, kwargs)
                return self.finish(None)
            # Someone's deployment of the base document is still running: AWS would answer
            # ConflictException. Wait for it, then decide again on what it left.
            self.see(live)
            live = self.wait()

    def finish(self, live: Live | None) -> ApplyResult:
        """Poll until the deployment ends; record applied or failed from what AWS reports."""
        while True:
            if live is None:
                _stage("polling", self.change.pk)
                live = self.poll()
            if live.running:
                # Each status while it runs gets a row; the final one is in the applied or
                # failed row (one transaction less for the common case: deployed at once).
                self.see(live)
            if self.change.kind == ChangeKind.DELETE and not live.exists:
                worker.change_request_mark_applied(
                    change_id=self.change.pk, change=self.change, worker=self.owner, described=None
                )
                return ApplyResult("applied")
            if not live.exists:
                raise aws.AwsError(
                    "ResourceNotFoundException",
                    f"Framework {self.name} disappeared while its change was deployed.",
                    operation="DescribeFramework",
                )
            state = deployment_state(live.status)
            if self.change.tags_only and state != "running":
                state = "done"  # the last deployment is not this change's to judge
            if state == "failed":
                words = (
                    DELETE_FAILED_WORDS
                    if self.change.kind == ChangeKind.DELETE
                    else DEPLOYMENT_FAILED["words"]
                )
                cause = (
                    apply_config.failure_cause(self.change, live.answer)
                    if self.change.kind != ChangeKind.DELETE
                    else {}
                )
                if cause:
                    words = f"{words} {cause['cause_words']}"
                error = {
                    **DEPLOYMENT_FAILED,
                    **cause,
                    "words": words,
                    "message": f"DeploymentStatus is {live.status}",
                    "operation": "DescribeFramework",
                    "deployment_status": live.status,
                }
                worker.change_request_mark_failed(
                    change_id=self.change.pk, change=self.change, worker=self.owner, error=error
                )
                return ApplyResult("failed", detail="DeploymentFailed")
            if state == "done" and self.change.kind != ChangeKind.DELETE:
                return ApplyResult(apply_tags.finish(self, live, stage=_stage))
            live = self.wait()

    def unconfirm(self, exc: Unconfirmed) -> ApplyResult:
        """AWS accepted the write and the wait is over: say so, and let sync or the
        reconciler settle the change from what AWS holds (nothing is sent again)."""
        worker.change_request_mark_unconfirmed(
            change_id=self.change.pk,
            change=self.change,
            worker=self.owner,
            last_status=self.last_status or "",
            error=exc.error,
        )
        return ApplyResult("unconfirmed", detail=(exc.error or {}).get("code", STILL_DEPLOYING))

    # --- errors ---

    def give_up_or_retry(self, exc: aws.AwsError | None) -> ApplyResult:
        """Transient trouble: retry later if attempts and time remain, else fail."""
        change = self.change
        delay = backoff_seconds(
            change.attempts,
            base=settings.APPLY_RETRY_BASE_SECONDS,
            cap=settings.APPLY_RETRY_MAX_DELAY_SECONDS,
        )
        first = first_attempt_at(change.pk) or timezone.now()
        elapsed = (timezone.now() - first).total_seconds()
        if exc is None:
            error: dict[str, Any] = {
                "code": STILL_DEPLOYING,
                "words": STILL_DEPLOYING_WORDS,
                "message": f"DeploymentStatus was {self.last_status} after "
                f"{settings.APPLY_DEPLOYMENT_WAIT_SECONDS:g} seconds",
                "transient": True,
            }
        else:
            error = error_details(exc)
        if change.attempts >= settings.APPLY_MAX_ATTEMPTS:
            return self.fail(error, f"Gave up after {change.attempts} attempts.")
        if elapsed + delay >= settings.APPLY_MAX_SECONDS:
            return self.fail(error, f"Gave up after {elapsed / 60:.0f} minutes of attempts.")
        # Keep the change applying (an update that may have landed must not be withdrawable)
        # and hand the lease to the retry, long enough for it to arrive and take over.
        handed = ChangeRequest.objects.filter(
            pk=change.pk, state=ChangeState.APPLYING, lease_owner=self.owner
        ).update(
            lease_owner=handoff_owner(self.task_id, self.retries + 1),
            lease_until=timezone.now() + timedelta(seconds=delay + settings.APPLY_LEASE_SECONDS),
            last_error=error,
        )
        if not handed:
            raise LeaseLost
        return ApplyResult("retry", retry_in=delay, detail=error["code"])

    def refuse_to_send(self, reason: str, details: dict[str, Any]) -> ApplyResult:
        """Nothing was sent: what would have been is not what was approved, or a version was
        edited in the database. The change fails with a security row (``services.worker``)."""
        log.error("change %s: refused to send (%s): %s", self.change.pk, reason, details)
        worker.change_request_refuse_to_send(
            change_id=self.change.pk,
            change=self.change,
            worker=self.owner,
            reason=reason,
            details=details,
        )
        return ApplyResult("failed", detail=reason)

    def fail(self, error: dict[str, Any], gave_up: str | None = None) -> ApplyResult:
        if gave_up:
            error = {**error, "words": f"{error.get('words', '')} {gave_up}".strip()}
        worker.change_request_mark_failed(
            change_id=self.change.pk, change=self.change, worker=self.owner, error=error
        )
        return ApplyResult("failed", detail=error.get("code", ""))


def look(target: Target, name: str) -> Live:
    """DescribeFramework once, as ``Live`` (its document None when AWS has no such
    framework). Touches no database, so it can run on the look-ahead thread."""
    try:
        return Live(_answer(aws.describe_framework(target, name, max_attempts=1)))
    except aws.AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            return Live(None)
        raise


def tampered_details(tampered: TamperedVersion) -> dict[str, Any]:
    return {
        "words": tampered.message,
        "version_id": tampered.version_id,
        "stored_hash": tampered.content_hash,
    }


_look_ahead_pools: dict[int, ThreadPoolExecutor] = {}


def _look_ahead(look: Callable[[], Live]) -> Future[Live]:
    """Run `look` (a DescribeFramework, no database) on a thread of this process, so that the
    call's network wait and the history write before it overlap: the worker spends that time
    once instead of twice. The pool is made on first use in each process (after any fork)."""
    pid = os.getpid()
    pool = _look_ahead_pools.get(pid)
    if pool is None:
        pool = _look_ahead_pools[pid] = ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="apply-look-ahead"
        )
    return pool.submit(look)


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def first_attempt_at(change_id: int) -> Any:
    """When a worker first claimed the change: the start of its total time budget."""
    return (
        HistoryEvent.objects.filter(change_request_id=change_id, event=Event.CLAIMED)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )


def _owner(task_id: str) -> str:
    """A lease owner unique to this run: host, process, task, nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{task_id[:8] or '-'}:{uuid.uuid4().hex[:8]}"


def _died_here(owner: str) -> bool:
    """Whether `owner` is a run of a process on this host that no longer exists.

    When the pool process running a change is killed (OOM, SIGKILL), Celery redelivers its
    message at once (reject on worker lost) and it usually lands on this same host: the new run
    can see that the lease holder is dead instead of waiting for the lease to expire. A pid that
    was reused, or a run on another host, just means waiting for the lease as usual.
    """
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # killed but not yet reaped by its parent
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def change_request_apply(*, change_id: int, task_id: str = "", retries: int = 0) -> ApplyResult:
    """Apply an approved change to AWS, at most once, in one run of the apply task.

    `task_id` and `retries` are the Celery request's: a retry takes over the lease its previous
    run handed it. Any other run finds the change claimed (or final) and does nothing, so the
    broker may deliver the same message twice and the reconciler may enqueue a change again.
    """
    # A cheap look first: a duplicate message for a change already taken writes nothing.
    current = (
        ChangeRequest.objects.select_related("target")
        .only("state", "lease_owner", "attempts", "framework_name", "target")
        .filter(pk=change_id)
        .first()
    )
    if current is None:
        return ApplyResult("skipped", detail="no such change")
    handoff = ""
    if current.state == ChangeState.APPLYING:
        owner = current.lease_owner
        if retries and owner == handoff_owner(task_id, retries):
            handoff = owner  # our own retry, handed over by the run before
        elif _died_here(owner):
            handoff = owner  # its run died on this machine: no need to wait for the lease
        else:
            return ApplyResult("skipped", detail="another run holds it")
    elif current.state != ChangeState.APPROVED:
        return ApplyResult("skipped", detail=f"it is {current.state}")
    # What AWS holds is asked while the claim is written: a run that will claim the change
    # (the look above says it can) spends the claim's time once. Should another run claim it
    # first, this run's only trace is that one read.
    first_look = (
        _look_ahead(functools.partial(look, current.target, current.framework_name))
        if worker.attempts_left(current, settings.APPLY_MAX_ATTEMPTS)
        else None
    )
    owner = _owner(task_id)
    try:
        change = worker.change_request_claim(
            change_id=change_id,
            worker=owner,
            lease_seconds=settings.APPLY_LEASE_SECONDS,
            max_attempts=settings.APPLY_MAX_ATTEMPTS,
            handoff=handoff,
        )
    except TransitionRefused as refused:
        return ApplyResult("skipped", detail=refused.code)
    if change.state != ChangeState.APPLYING:
        return ApplyResult("failed", detail="attempts used up")
    run = _Run(change, owner, task_id, retries)  # the claim loaded its target and versions
    run.ahead = first_look
    _stage("claimed", change_id)
    try:
        try:
            return run.apply()
        except approvals.NotApproved as refused:
            return run.refuse_to_send("not_approved", refused.details())
        except TamperedVersion as tampered:
            return run.refuse_to_send("tampered", tampered_details(tampered))
        except Unconfirmed as unknown:
            return run.unconfirm(unknown)
        except StillDeploying:
            return run.give_up_or_retry(None)
        except aws.AwsError as exc:
            if exc.transient:
                return run.give_up_or_retry(exc)
            return run.fail(error_details(exc))
    except (LeaseLost, TransitionRefused) as lost:
        # The reconciler returned the change while this run was slow; whoever has it now
        # finishes it (the token keeps AWS from acting twice).
        log.warning("change %s: lease lost (%s)", change_id, lost)
        return ApplyResult("skipped", detail="lease lost")


# --- the reconciler -------------------------------------------------------------------------


def expected_run_seconds(now: datetime) -> float:
    """How long one apply run takes, from the last hour's applied changes: the median time from
    a claim to the outcome (the poll interval's worth of seconds when nothing ran lately)."""
    claimed = (
        HistoryEvent.objects.filter(
            change_request_id=OuterRef("change_request_id"),
            event=Event.CLAIMED,
            id__lt=OuterRef("id"),
        )
        .order_by("-id")
        .values("created_at")[:1]
    )
    rows = (
        HistoryEvent.objects.filter(event=Event.APPLIED, created_at__gte=now - timedelta(hours=1))
        .order_by("-id")
        .annotate(claimed_at=Subquery(claimed))
        .values_list("created_at", "claimed_at")[:50]
    )
    took = sorted((done - start).total_seconds() for done, start in rows if start is not None)
    if not took:
        return 2 * settings.APPLY_POLL_INTERVAL_SECONDS
    return took[len(took) // 2]


def requeue_after_seconds(queue_depth: int | None, *, now: datetime) -> float:
    """How long an approved change may wait for a worker before its message counts as lost:
    twice the time the apply queue ahead of it takes to drain (its depth over the claims per
    second of the last five minutes) plus one run, within ``APPLY_REQUEUE_MIN_SECONDS`` and
    ``APPLY_REQUEUE_AFTER_SECONDS``. A shallow queue (a flushed broker) brings lost changes back
    within about a minute; a deep one is not duplicated while it drains."""
    run = expected_run_seconds(now)
    depth = queue_depth or 0
    drain = 0.0
    if depth:
        window = 300.0
        claims = HistoryEvent.objects.filter(
            event=Event.CLAIMED, created_at__gte=now - timedelta(seconds=window)
        ).count()
        # Nothing claimed lately behind a full queue: the workers are all busy or gone.
        drain = depth * window / claims if claims else float("inf")
    wait = 2 * (drain + run)
    return min(max(wait, settings.APPLY_REQUEUE_MIN_SECONDS), settings.APPLY_REQUEUE_AFTER_SECONDS)


def changes_reconcile(*, queue_depth: int | None = None) -> list[int]:
    """Beat's safety net, so nothing depends on the broker keeping a message: return applying
    changes whose lease expired to approved, settle unconfirmed changes from what AWS holds, and
    pick the approved changes no worker has taken for ``requeue_after_seconds`` (their message
    was lost). Returns the ids to enqueue; a duplicate message is harmless (the claim lets one
    run through)."""
    now = timezone.now()
    released = worker.change_request_release_expired(now=now)
    changes_settle_unconfirmed()
    cutoff = now - timedelta(seconds=requeue_after_seconds(queue_depth, now=now))
    waiting = (
        ChangeRequest.objects.filter(state=ChangeState.APPROVED)
        .annotate(waiting_since=Coalesce("enqueued_at", "updated_at"))
        .filter(Q(pk__in=released) | Q(waiting_since__lt=cutoff))
    )
    ids = list(waiting.order_by("id").values_list("pk", flat=True))
    if ids:
        ChangeRequest.objects.filter(pk__in=ids, state=ChangeState.APPROVED).update(enqueued_at=now)
    return ids


def changes_settle_unconfirmed() -> list[int]:
    """Describe each unconfirmed change's framework and settle it (applied, failed or stale)
    when AWS says how its deployment ended. AWS unreachable for a target: try its changes at the
    next run. Returns the ids settled."""
    settled: list[int] = []
    unreachable: set[int] = set()
    unconfirmed = ChangeRequest.objects.filter(state=ChangeState.UNCONFIRMED).select_related(
        "target", "base_version", "proposed_version"
    )
    for change in unconfirmed.order_by("id"):
        if change.target_id in unreachable:
            continue
        try:
            answer: dict[str, Any] | None = _answer(
                aws.describe_framework(change.target, change.framework_name, max_attempts=1)
            )
        except aws.AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                log.warning("change %s: cannot settle yet (%s)", change.pk, exc)
                unreachable.add(change.target_id)
                continue
            answer = None
        live = Live(answer)
        sent = change.kind == ChangeKind.DELETE and bool(aws_live.delete_sent([change.pk]))
        try:
            if aws_live.verdict(change, live, sent=sent) == aws_live.DEPLOYING:
                continue  # still deploying: the next run looks again
        except TamperedVersion as tampered:
            log.error("change %s not settled: %s", change.pk, tampered.message)
            continue
        try:
            worker.change_request_settle(change_id=change.pk, described=answer, by="reconciler")
        except TransitionRefused as refused:  # sync or a person got there first
            log.info("change %s: not settled (%s)", change.pk, refused.code)
            continue
        settled.append(change.pk)
    return settled


# --- stage hooks for chaos tests ------------------------------------------------------------


def _stage(name: str, change_id: int) -> None:
    """Stop here if a chaos test armed this stage: tell it where, then wait to be killed.

    A test arms a stage for one change with ``<APPLY_STAGE_HOOK_DIR>/<stage>.<change id>.arm``
    (or for any change with ``<stage>.arm``). The first run to reach it takes the file (a rename:
    exactly one process wins), writes ``<stage>.<change id>.reached`` with its pid, and blocks
    until the test kills it. Off unless the setting names a folder.
    """
    folder = settings.APPLY_STAGE_HOOK_DIR
    if not folder:
        return
    base = Path(folder)
    for armed in (base / f"{name}.{change_id}.arm", base / f"{name}.arm"):
        try:
            armed.rename(base / f"{name}.{change_id}.taken.{os.getpid()}")
            break
        except FileNotFoundError:
            continue
    else:
        return
    reached = {"pid": os.getpid(), "change_id": change_id, "stage": name}
    temp = base / f".{name}.{change_id}.{os.getpid()}"
    temp.write_text(json.dumps(reached))
    temp.rename(base / f"{name}.{change_id}.reached")
    log.warning("stage hook %s reached by pid %s (change %s)", name, os.getpid(), change_id)
    while True:
        time.sleep(1)
