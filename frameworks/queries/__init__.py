"""The read side: what pages, context processors and template tags ask the database.

Nothing here changes anything. Each function answers one page region in a bounded number of
queries, whatever the amount of data (the tests pin the counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, TextField, When
from django.db.models.functions import Cast

from frameworks import access, document
from frameworks.access import Action
from frameworks.document.catalog import CONTROLS
from frameworks.models import (
    IN_FLIGHT_STATES,
    OPEN_STATES,
    Approval,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    DocumentVersion,
    Event,
    Framework,
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
    entries: list[Entry] = field(default_factory=list)  # the rows as a person reads them


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
    return Page(page, older, before, history_entries(page, newest_first=True))


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


# --- the list of changes --------------------------------------------------------------------

#: Changes per page on the Changes page.
CHANGES_PAGE_SIZE = 50


@dataclass
class ChangeFilters:
    """What the Changes page is filtered by, read from its URL (anything unknown is ignored)."""

    state: str = ""
    author: str = ""
    target: str = ""
    framework: str = ""
    mine: bool = False

    @classmethod
    def of(cls, params: Any) -> ChangeFilters:
        state = params.get("state", "")
        return cls(
            # The states are the model's choices, so a state added there is offered here too.
            state=state if state in ChangeState.values else "",
            author=params.get("author", "")[:150],
            target=params.get("target", "")[:100],
            framework=params.get("framework", "")[:256],
            mine=params.get("mine") == "1",
        )

    @property
    def active(self) -> bool:
        return bool(self.state or self.author or self.target or self.framework or self.mine)


@dataclass
class ChangesPage:
    changes: list[ChangeRequest]
    total: int
    targets: list[Target]
    authors: list[str]
    frameworks: list[str]
    number: int
    pages: int


def changes_list(user: User, filters: ChangeFilters, *, page: int = 1) -> ChangesPage:
    """Every change in the targets this user may view, newest first, filtered: four queries
    (targets, the choices for authors and frameworks, the count, one page of rows) however
    many changes there are."""
    targets = list(
        access.targets_for(user, Action.VIEW)
        .filter(retired_at__isnull=True)
        .order_by("display_name", "region")
    )
    visible = ChangeRequest.objects.filter(target__in=[t.pk for t in targets])
    rows = visible
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.mine:
        rows = rows.filter(author=user.pk)
    elif filters.author:
        rows = rows.filter(author_name=filters.author)
    if filters.target:
        rows = rows.filter(target__slug=filters.target)
    if filters.framework:
        rows = rows.filter(framework_name=filters.framework)
    names = visible.values_list("author_name", "framework_name").distinct()
    authors = sorted({a for a, _ in names})
    frameworks = sorted({f for _, f in names})
    total = rows.count()
    pages = max(1, -(-total // CHANGES_PAGE_SIZE))
    number = min(max(page, 1), pages)
    start = (number - 1) * CHANGES_PAGE_SIZE
    shown = list(
        rows.select_related("target").order_by("-updated_at", "-pk")[
            start : start + CHANGES_PAGE_SIZE
        ]
    )
    return ChangesPage(shown, total, targets, authors, frameworks, number, pages)


def open_changes(target: Target, name: str) -> list[ChangeRequest]:
    """Changes to one framework under review or on their way to AWS (one query)."""
    return list(
        ChangeRequest.objects.filter(
            target=target, framework_name=name, state__in=OPEN_STATES
        ).order_by("pk")
    )


# --- history as a person reads it -----------------------------------------------------------

#: The technical steps of an apply: shown folded under their attempt, below the decisions.
TECHNICAL_EVENTS = frozenset(
    {
        Event.CLAIMED,
        Event.LEASE_EXPIRED,
        Event.ATTEMPT_STARTED,
        Event.ATTEMPT_SUCCEEDED,
        Event.ATTEMPT_FAILED,
        Event.DEPLOYMENT_STATUS,
    }
)


@dataclass
class Entry:
    """One line of a history as shown: a decision or outcome (``row``), or the technical
    steps of one apply attempt folded into one line (``steps``)."""

    row: HistoryEvent
    steps: list[Step] = field(default_factory=list)
    step_rows: list[HistoryEvent] = field(default_factory=list)

    @property
    def folded(self) -> bool:
        return bool(self.step_rows)

    @property
    def attempt(self) -> int | None:
        for row in self.step_rows:
            if row.event == Event.CLAIMED and (row.details or {}).get("attempt"):
                return int(row.details["attempt"])
        return None

    @property
    def failed(self) -> bool:
        return any(
            row.outcome != "ok" or row.event == Event.ATTEMPT_FAILED for row in self.step_rows
        )


def actor_words(row: HistoryEvent) -> tuple[str, str]:
    """(who, detail): a person by name; a process by what it is ("Apply worker", "Sync"),
    with its process name and host as the detail a tooltip shows."""
    if row.actor_kind == "user":
        return row.actor_name or "someone", ""
    who = row.get_actor_kind_display()
    detail = " on ".join(part for part in (row.actor_name, row.actor_host) if part)
    return who, detail


def history_entries(rows: list[HistoryEvent], *, newest_first: bool = False) -> list[Entry]:
    """Rows in the order given, each attempt's run of technical steps (from its claim by a
    worker on) folded into one entry, so decisions and outcomes read first."""
    entries: list[Entry] = []
    for row in rows:
        row.actor_who, row.actor_detail = actor_words(row)  # type: ignore[attr-defined]
        if row.event not in TECHNICAL_EVENTS:
            entries.append(Entry(row))
            continue
        last = entries[-1] if entries else None
        same = (
            last is not None and last.folded and last.row.change_request_id == row.change_request_id
        )
        if same and last is not None:
            claimed = any(r.event == Event.CLAIMED for r in last.step_rows)
            # An attempt begins with its claim: oldest first, a claim opens a new one; newest
            # first, the claim is the attempt's last row.
            same = not claimed if newest_first else row.event != Event.CLAIMED
        if same and last is not None:
            last.step_rows.append(row)
            last.steps.append(_step(row))
        else:
            entries.append(Entry(row, [_step(row)], [row]))
    return entries


def defaults_of(control: document.Control) -> list[tuple[str, str]]:
    """The catalogue parameters a control leaves out, each with what AWS then uses:
    what "AWS defaults" means for it."""
    spec = CONTROLS.get(control.name)
    given = {p.name for p in control.parameters}
    return [
        (parameter.label, document.describe_absent(control.name, name, siblings=control.parameters))
        for name, parameter in (spec.parameters.items() if spec else ())
        if name not in given
    ]


# --- the frameworks list --------------------------------------------------------------------

#: How the frameworks list can be sorted: the URL's word, and the order it means.
FRAMEWORK_SORTS = {
    "name": ("Name", ("name",)),
    "status": ("Deployment status", ("deployment_status", "name")),
    "last_change": ("Last change", (F("last_change").desc(nulls_last=True), "name")),
}


@dataclass
class FrameworkFilters:
    """What the frameworks list is searched and filtered by, read from its URL."""

    q: str = ""
    account: str = ""
    region: str = ""
    status: str = ""
    sort: str = "name"

    @classmethod
    def of(cls, params: Any) -> FrameworkFilters:
        sort = params.get("sort", "name")
        return cls(
            q=params.get("q", "").strip()[:200],
            account=params.get("account", "")[:12],
            region=params.get("region", "")[:32],
            status=params.get("status", "")[:32],
            sort=sort if sort in FRAMEWORK_SORTS else "name",
        )

    @property
    def active(self) -> bool:
        return bool(self.q or self.account or self.region or self.status)


@dataclass
class FrameworkList:
    groups: list[dict[str, Any]]
    accounts: list[str]
    regions: list[str]
    statuses: list[str]
    shown: int


def _control_names_matching(text: str) -> list[str]:
    """The catalogue controls whose API name or console title contains ``text``."""
    needle = text.lower()
    return [
        name
        for name, spec in CONTROLS.items()
        if needle in name.lower() or needle in spec.title.lower()
    ]


def framework_list(user: User, filters: FrameworkFilters) -> FrameworkList:
    """The frameworks of every target this user may view, grouped by target, searched by name
    or control, filtered by account, Region and deployment status: two queries (targets, then
    the frameworks with their last history row's time) however many there are."""
    targets = list(
        access.targets_for(user, Action.VIEW)
        .filter(retired_at__isnull=True)
        .order_by("display_name", "region")
    )
    accounts = sorted({t.account_id for t in targets if t.account_id})
    regions = sorted({t.region for t in targets})
    chosen = [
        t
        for t in targets
        if (not filters.account or t.account_id == filters.account)
        and (not filters.region or t.region == filters.region)
    ]
    last = HistoryEvent.objects.filter(
        target=OuterRef("target_id"), framework_name=OuterRef("name")
    ).order_by("-id")
    rows = Framework.objects.filter(target__in=[t.pk for t in chosen]).annotate(
        last_change=Subquery(last.values("created_at")[:1])
    )
    if filters.q:
        match = Q(name__icontains=filters.q)
        names = _control_names_matching(filters.q)
        if names:
            # A control is found by its API name in the stored list (quoted, so one name
            # inside another does not match).
            text = Cast("controls", TextField())
            rows = rows.annotate(controls_text=text)
            for name in names:
                match |= Q(controls_text__contains=f'"{name}"')
        rows = rows.filter(match)
    frameworks = list(rows.order_by("target_id", "-present", *FRAMEWORK_SORTS[filters.sort][1]))
    statuses = sorted({f.deployment_status for f in frameworks if f.deployment_status})
    if filters.status:
        frameworks = [f for f in frameworks if f.deployment_status == filters.status]
    by_target: dict[int, list[Framework]] = {}
    for framework in frameworks:
        by_target.setdefault(framework.target_id, []).append(framework)
    groups = [
        {
            "target": target,
            "frameworks": by_target.get(target.pk, []),
            "can_sync": access.can(user, Action.SYNC, target),
        }
        for target in chosen
        if not filters.active or by_target.get(target.pk)
    ]
    return FrameworkList(groups, accounts, regions, statuses, len(frameworks))
