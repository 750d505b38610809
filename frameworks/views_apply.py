"""The live apply status of a change: each attempt and the deployment status as they happen.

The change page includes ``frameworks/_apply_status.html``; while the change is waiting or being
applied, that section asks this view for itself again every two seconds (htmx) and stops once the
change is final. Everything shown comes from the change and its history rows: one query for the
rows, however many attempts there were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from frameworks import access
from frameworks.access import Action
from frameworks.models import ChangeRequest, ChangeState, Event, HistoryEvent

#: The history events that tell the story of an apply.
APPLY_EVENTS = (
    Event.CLAIMED,
    Event.LEASE_EXPIRED,
    Event.ATTEMPT_STARTED,
    Event.ATTEMPT_SUCCEEDED,
    Event.ATTEMPT_FAILED,
    Event.DEPLOYMENT_STATUS,
    Event.APPLIED,
    Event.FAILED,
    Event.STALE,
)
#: States in which the section keeps asking for itself.
LIVE_STATES = (ChangeState.APPROVED, ChangeState.APPLYING)

_DEPLOYMENT_WORDS = {
    "CREATE_IN_PROGRESS": "AWS is creating the framework and deploying its controls.",
    "UPDATE_IN_PROGRESS": "AWS is deploying the controls.",
    "DELETE_IN_PROGRESS": "AWS is deleting the framework.",
    "COMPLETED": "AWS finished deploying.",
    "FAILED": "AWS could not deploy the controls.",
    "GONE": "The framework is gone from AWS.",
}


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
        words = _DEPLOYMENT_WORDS.get(status.upper(), f"Deployment status {status}.")
        outcome = "error" if status.upper() == "FAILED" else "ok"
        if status.upper().endswith("IN_PROGRESS"):
            outcome = "busy"
        return Step(row.created_at, words, outcome, code=status)
    if row.event == Event.APPLIED:
        if d.get("matches_approved") is False:
            text = "Applied; AWS reports a document that differs from the approved one."
        else:
            text = "Applied: AWS holds the approved document."
        status = d.get("deployment_status") or ""
        if status:  # the final status of the deployment is recorded with the outcome
            text = f"{_DEPLOYMENT_WORDS.get(status.upper(), status)} {text}"
        return Step(row.created_at, text, code=status)
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


@never_cache
@require_GET
def change_apply_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The apply section of a change page, for htmx to swap in; a browser without JavaScript
    is sent to the whole page."""
    change = get_object_or_404(ChangeRequest.objects.select_related("target"), pk=pk)
    access.require(request.user, Action.VIEW, change.target)
    if not request.htmx:
        return redirect(reverse("frameworks:change-detail", args=[pk]) + "#apply-status")
    return render(request, "frameworks/_apply_status.html", {"change": change})
