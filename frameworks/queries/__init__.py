"""The read side: what pages, context processors and template tags ask the database.

Nothing here changes anything. Each function answers one page region in a bounded number of
queries, whatever the amount of data (the tests pin the counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, When

from frameworks import access, document
from frameworks.access import Action
from frameworks.models import (
    IN_FLIGHT_STATES,
    Approval,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    DocumentVersion,
    Event,
    HistoryEvent,
    Target,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: History rows per page on a framework's page.
PAGE_SIZE = 25


# --- the approvers' queue -------------------------------------------------------------------


def awaiting_review(user: User) -> QuerySet[ChangeRequest]:
    """Submitted changes in the targets this user approves, not their own, that still wait for
    their decision on the current proposal. One query, whatever the number of targets."""
    if not access.can_anywhere(user, Action.APPROVE):
        return ChangeRequest.objects.none()
    decided = Approval.objects.filter(
        change_request=OuterRef("pk"),
        reviewer=user,
        dismissed_at__isnull=True,
        content_hash=OuterRef("current_review_hash"),
    )
    return (
        ChangeRequest.objects.filter(
            state=ChangeState.SUBMITTED, target__in=access.targets_for(user, Action.APPROVE)
        )
        .exclude(author=user)
        # ChangeRequest.review_hash in SQL: what a reviewer decides on (a delete: its base).
        .annotate(
            current_review_hash=Case(
                When(kind=ChangeKind.DELETE, then=F("base_version__content_hash")),
                # A change proposing tags: H(content, tags), stored since SQL cannot hash.
                When(~Q(review_digest=""), then=F("review_digest")),
                default=F("proposed_version__content_hash"),
            )
        )
        .exclude(Exists(decided))
    )


# --- a change's apply status ----------------------------------------------------------------


#: The history events that tell the story of an apply.
APPLY_EVENTS = (
    Event.CLAIMED,
    Event.LEASE_EXPIRED,
    Event.ATTEMPT_STARTED,
    Event.ATTEMPT_SUCCEEDED,
    Event.ATTEMPT_FAILED,
    Event.DEPLOYMENT_STATUS,
    Event.UNCONFIRMED,
    Event.APPLIED,
    Event.FAILED,
    Event.STALE,
)
UNCONFIRMED_WORDS = "AWS accepted the change; its deployment could not be confirmed."
#: States in which the section keeps asking for itself.
LIVE_STATES = IN_FLIGHT_STATES


@dataclass
class Step:
    at: datetime
    text: str
    outcome: str = "ok"  # ok, busy, error
    code: str = ""
    detail: str = ""


@dataclass
class ApplyStatus:
    change: ChangeRequest
    steps: list[Step] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        """Only changes that were approved have anything to show."""
        return self.change.state in (*LIVE_STATES, ChangeState.APPLIED, ChangeState.FAILED) or (
            bool(self.steps)
        )

    @property
    def live(self) -> bool:
        return self.change.state in LIVE_STATES

    @property
    def max_attempts(self) -> int:
        return settings.APPLY_MAX_ATTEMPTS

    @property
    def error(self) -> dict[str, Any]:
        return self.change.last_error or {}


def _step(row: HistoryEvent) -> Step:
    d = row.details or {}
    request = d.get("request") or {}
    operation = request.get("operation", "the call")
    error = d.get("error") or {}
    if row.event == Event.CLAIMED:
        before = d.get("taken_over_from") or ""
        why = ""
        if before.startswith("retry:"):
            why = " (a retry)"
        elif before:
            why = " (taking over from a worker that stopped)"
        return Step(row.created_at, f"Attempt {d.get('attempt')} started by a worker{why}.")
    if row.event == Event.LEASE_EXPIRED:
        return Step(
            row.created_at,
            "The worker stopped answering; the change was handed back to be tried again.",
            "busy",
        )
    if row.event == Event.ATTEMPT_STARTED:
        return Step(row.created_at, f"Sent {operation} to AWS.", "busy")
    if row.event == Event.ATTEMPT_SUCCEEDED:
        took = f" in {d['duration_ms']} ms" if d.get("duration_ms") is not None else ""
        return Step(
            row.created_at, f"AWS accepted {operation}{took}.", detail=d.get("request_id", "")
        )
    if row.event == Event.ATTEMPT_FAILED:
        operation = request.get("operation") or error.get("operation") or "the call"
        retry = " It will be tried again." if error.get("transient") else ""
        return Step(
            row.created_at,
            f"{operation} failed: {error.get('words', 'AWS reported an error.')}{retry}",
            "error",
            code=error.get("code", ""),
            detail=error.get("message", ""),
        )
    if row.event == Event.DEPLOYMENT_STATUS:
        status = d.get("deployment_status") or ""
        words = document.deployment_sentence(status, f"Deployment status {status}.")
        outcome = {"running": "busy", "failed": "error", "done": "ok"}[
            document.deployment_state(status)
        ]
        return Step(row.created_at, words, outcome, code=status)
    if row.event == Event.APPLIED:
        if d.get("matches_approved") is False:
            text = "Applied; AWS reports a document that differs from the approved one."
        else:
            text = "Applied: AWS holds the approved document."
        status = d.get("deployment_status") or ""
        if status:  # the final status of the deployment is recorded with the outcome
            text = f"{document.deployment_sentence(status, status)} {text}"
        if d.get("settled_by"):
            text = f"{text} (found by {d['settled_by']}: the worker's write had landed)"
        return Step(row.created_at, text, code=status)
    if row.event == Event.UNCONFIRMED:
        return Step(
            row.created_at,
            f"Unconfirmed: {d.get('words') or UNCONFIRMED_WORDS} "
            "The console asks AWS again until it knows.",
            "busy",
            code=(d.get("deployment_status") or error.get("code", "")),
        )
    if row.event == Event.FAILED:
        return Step(
            row.created_at,
            f"Failed: {error.get('words', 'the change could not be applied.')}",
            "error",
            code=error.get("code", ""),
            detail=error.get("message", ""),
        )
    return Step(
        row.created_at,
        "Stale: the framework changed in AWS after approval; nothing was sent.",
        "error",
    )


def apply_status(change: ChangeRequest) -> ApplyStatus:
    """What the apply section shows for `change` (one query)."""
    rows = HistoryEvent.objects.filter(
        change_request_id=change.pk, event__in=APPLY_EVENTS
    ).order_by("id")
    return ApplyStatus(change, [_step(row) for row in rows])


# --- a framework's history ------------------------------------------------------------------


@dataclass
class Page:
    rows: list[HistoryEvent]
    older: int | None  # the ?before= of the next page, if there is one
    before: int | None = None  # this page's cursor (None: the newest rows)


def _as_document(version: DocumentVersion | None) -> document.Document | None:
    return version.as_document() if version is not None else None


def changes_of(row: HistoryEvent) -> list[document.Change]:
    """The semantic diff a row carries (between its versions), or nothing."""
    if row.version_before_id is None and row.version_after_id is None:
        return []
    if row.version_before_id == row.version_after_id:
        return []
    return document.diff(_as_document(row.version_before), _as_document(row.version_after))


def framework_page(target: Target, name: str, *, before: int | None = None) -> Page:
    """One framework's rows, newest first, ``PAGE_SIZE`` at a time: one query however many."""
    rows = HistoryEvent.objects.filter(target=target, framework_name=name)
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(
        rows.select_related("version_before", "version_after").order_by("-id")[: PAGE_SIZE + 1]
    )
    older = page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None
    page = page[:PAGE_SIZE]
    for row in page:
        row.diff_lines = diff_lines(row)  # type: ignore[attr-defined]
    return Page(page, older, before)


def diff_lines(row: HistoryEvent) -> list[str]:
    """The row's diff in sentences. A framework that appears is summed up rather than spelt
    out: its whole content would only repeat, line by line, the document on the same page."""
    changes = changes_of(row)
    if row.version_before_id is None and row.version_after_id is not None:
        count = len(row.version_after.document.get("FrameworkControls", []))
        return [f"The framework, with {count} control{'' if count == 1 else 's'}."]
    return [change.text for change in changes]


#: The history rows a target's own page shows: what was done to the target itself.
TARGET_EVENTS = [
    Event.TARGET_ADDED,
    Event.TARGET_CHANGED,
    Event.TARGET_RETIRED,
    Event.TARGET_CONNECTION_TESTED,
]


def target_history(target: Target, *, limit: int = 50) -> list[HistoryEvent]:
    """The newest rows about the target's settings and connection (history_target_idx), each
    with ``field_changes``: (setting, before, after) for the settings that differ."""
    rows = list(
        HistoryEvent.objects.filter(target=target, event__in=TARGET_EVENTS).order_by("-id")[:limit]
    )
    for row in rows:
        before = row.details.get("before") or {}
        after = row.details.get("after") or {}
        row.field_changes = [  # type: ignore[attr-defined]
            (name, before.get(name), value)
            for name, value in after.items()
            if before.get(name) != value
        ]
    return rows


def managed_targets(user: User) -> QuerySet[Target]:
    """The targets this user administers, in service first, then retired."""
    return access.targets_for(user, Action.MANAGE).order_by(
        F("retired_at").asc(nulls_first=True), "display_name"
    )
