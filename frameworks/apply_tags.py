"""Apply a change's framework tags, with the discipline of the document step.

Called by ``apply._Run`` once AWS holds the approved document (the deployment has ended), or
at once for a change that edits only tags (no UpdateFramework is sent). The steps:

1. **ListTags** on the framework's ARN. Already the proposed tags: nothing to send (an earlier
   run's calls landed before its worker died, or CreateFramework set them).
2. **Stale check**: the live tags must be the base the change was reviewed against, or the
   state between this change's own two calls (its TagResource landed, its UntagResource not
   yet). Anything else is someone else's edit: the change goes stale and nothing is sent.
3. **TagResource** with the keys to add or change, then **UntagResource** with the keys to
   remove, each recorded before it is sent and after it answers, exactly one HTTP request each.
   Both are idempotent by content (setting a tag to the value it has, or removing a key that is
   gone, changes nothing), so a retry after a crash recomputes what is left from ListTags and
   never repeats an effective write.
4. **ListTags** again: AWS must report exactly the proposed tags, or the change fails saying
   so. Errors follow ``aws.ERRORS`` like the document's: transient ones are raised for the
   run's retry, permanent ones fail the change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from frameworks import approvals, aws, document
from frameworks.models import ChangeRequest
from frameworks.services import worker
from frameworks.services.live import Live


class Run(Protocol):
    """What this module uses of one run of the worker (``apply._Run``): it cannot import the
    worker, which calls it."""

    change: ChangeRequest
    owner: str

    @property
    def target(self) -> Any: ...

    @property
    def approved(self) -> document.Document: ...

    def renew(self) -> None: ...

    def record_error(
        self, exc: aws.AwsError, request: dict[str, Any], ms: int | None = None
    ) -> None: ...


Stage = Callable[[str, int], None]

#: An AwsError code of our own (its words are in ``aws.ERRORS``): permanent.
TAGS_NOT_APPLIED = "TagsNotApplied"


NOT_BOUND = {
    "code": "ApprovalNotBound",
    "words": "The approvals of this change do not cover the tags it would send now (they "
    "changed after approval), so nothing was sent; start a new change from this one.",
}


def bound(run: Run) -> bool:
    """Whether the change's approvals still cover what it would send, tags included: the
    review hash is recomputed from the stored version and tags, so tags swapped after
    approval leave the approvals behind."""
    change = run.change
    return len(change.current_approvals()) >= change.required_approvals


def check_before_call(run: Run, live: Live) -> str | None:
    """Before the document call: "failed" when the approvals do not cover the tags, "stale"
    when the framework's tags moved away from the change's base (nothing is sent either
    way), None to go on. Reads ListTags only for a change of tags whose base is known."""
    change = run.change
    if not change.changes_tags:
        return None
    if not bound(run):
        worker.change_request_mark_failed(change_id=change.pk, worker=run.owner, error=NOT_BOUND)
        return "failed"
    if change.base_tags is None or not live.exists:
        return None
    current = _list(run, _arn(live))
    if document.tags_on_the_way(change.base_tags, change.proposed_tags or {}, current):
        return None
    worker.change_request_mark_stale(
        change_id=change.pk,
        live={**(live.answer or {}), "FrameworkTags": current},
        worker=run.owner,
    )
    return "stale"


def finish(run: Run, live: Live, *, stage: Stage) -> str:
    """Bring the framework's tags to the proposed ones, then record the change applied with
    what AWS reports (document and tags). Returns "applied", "stale" or "failed"."""
    change = run.change
    answer = dict(live.answer or {})
    if change.changes_tags:
        arn = _arn(live)
        wanted = dict(change.proposed_tags or {})
        current = _list(run, arn)
        if current != wanted:
            if not bound(run):
                worker.change_request_mark_failed(
                    change_id=change.pk, worker=run.owner, error=NOT_BOUND
                )
                return "failed"
            if not document.tags_on_the_way(change.base_tags, wanted, current):
                worker.change_request_mark_stale(
                    change_id=change.pk, live={**answer, "FrameworkTags": current}, worker=run.owner
                )
                return "stale"
            # The document AWS holds now is the approved one (the verdict said so): these
            # tags are sent with it, and that pair must be what enough approvals approved.
            counted = approvals.approvals_record(
                approvals.check_request(change, run.approved, wanted)
            )
            plan = document.tag_plan(current, wanted)
            if plan.to_set:
                _send(run, "TagResource", arn, plan.to_set, stage, counted)
            if plan.to_remove:
                _send(run, "UntagResource", arn, plan.to_remove, stage, counted)
            current = _list(run, arn)
        if current != wanted:
            raise aws.AwsError(
                TAGS_NOT_APPLIED,
                f"ListTags reports {sorted(current.items())} after the calls; the change "
                f"proposed {sorted(wanted.items())}",
                operation="ListTags",
            )
        answer["FrameworkTags"] = current
    worker.change_request_mark_applied(
        change_id=change.pk,
        change=change,
        worker=run.owner,
        described=answer,
        # The parsed answer serves again unless the tags were added to it.
        live=None if change.changes_tags else live,
    )
    return "applied"


def _arn(live: Live) -> str:
    return str((live.answer or {}).get("FrameworkArn") or "")


def _list(run: Run, arn: str) -> dict[str, str]:
    run.renew()
    try:
        return aws.list_tags(run.target, arn, max_attempts=1)
    except aws.AwsError as exc:
        run.record_error(exc, {"operation": "ListTags", "ResourceArn": arn})
        raise


def _send(
    run: Run, operation: str, arn: str, payload: Any, stage: Stage, counted: list[dict[str, Any]]
) -> None:
    """One tag call, recorded before it is sent (with the approvals it was checked against)
    and after it answers; ``stage`` is the worker's chaos-test hook (``after_tag_call``)."""
    member = "Tags" if operation == "TagResource" else "TagKeyList"
    recorded = {"operation": operation, "ResourceArn": arn, member: payload}
    run.renew()
    worker.change_request_record_attempt(
        change_id=run.change.pk,
        worker=run.owner,
        stage="started",
        request=recorded,
        approvals=counted,
    )
    started = time.monotonic()
    try:
        if operation == "TagResource":
            response = aws.tag_resource(run.target, arn, payload)
        else:
            response = aws.untag_resource(run.target, arn, payload)
    except aws.AwsError as exc:
        run.record_error(exc, recorded, round((time.monotonic() - started) * 1000))
        raise
    stage("after_tag_call", run.change.pk)
    worker.change_request_record_attempt(
        change_id=run.change.pk,
        worker=run.owner,
        stage="succeeded",
        request=recorded,
        response={k: v for k, v in response.items() if k != "ResponseMetadata"},
        request_id=(response.get("ResponseMetadata") or {}).get("RequestId", ""),
        duration_ms=round((time.monotonic() - started) * 1000),
    )
