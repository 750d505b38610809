"""The audit page's read side: whose events a person sees, the filters, keyset pages and one
event with everything around it.

Nothing here counts the whole table: a page is one query for its rows (plus the viewer's roles
and targets), however many rows there are, and pages are reached by cursor (``before`` and
``after`` are row ids), so new events arriving never shift a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from frameworks import access
from frameworks.access import Action
from frameworks.models import (
    EVENT_GROUPS,
    LIVE_EVENTS,
    HistoryCheckpoint,
    HistoryEvent,
    Role,
    Target,
    events_of,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

#: Rows per audit page.
PAGE_SIZE = 25
#: Rows an event's detail lists from the same request or change.
RELATED_LIMIT = 200

#: What the free-text search reads of a row: the reason, the comment and AWS's error message.
#: On PostgreSQL this is an IMMUTABLE SQL function made by migration 0007, and the GIN index
#: history_search_idx is on exactly SEARCH_VECTOR, so the query and the index match.
SEARCH_TEXT_FIELDS = ("reason", "comment", "error.message", "error.words")
SEARCH_VECTOR = "to_tsvector('english', frameworks_history_search_text(\"details\"))"

#: Roles that see the events that belong to no target (sign-ins, role grants, exports) when
#: they hold them for every target.
UNTARGETED_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})


@dataclass(frozen=True)
class Scope:
    """What one person may see of the history."""

    targets: list[Target]
    every_target: bool
    untargeted: bool

    @property
    def target_ids(self) -> list[int]:
        return [t.pk for t in self.targets]

    def by_id(self) -> dict[int, Target]:
        return {t.pk: t for t in self.targets}

    def sees(self, row: HistoryEvent) -> bool:
        if row.target_id is None:
            return self.untargeted
        return self.every_target or row.target_id in self.target_ids

    def q(self) -> Q:
        """The rows of the history this scope sees, as a filter."""
        if self.every_target and self.untargeted:
            return Q()
        seen = Q(target_id__isnull=False) if self.every_target else Q(target_id__in=self.target_ids)
        if self.untargeted:
            seen |= Q(target_id__isnull=True)
        return seen


def audit_scope(user: User | AnonymousUser) -> Scope:
    """Every signed-in person with a role reads the history of the targets they may view; the
    events of no target only admins and auditors who hold the role for every target. Two
    queries for the roles (cached on the user), one for the targets."""
    if not access.can_anywhere(user, Action.VIEW):
        raise PermissionDenied("You have no role on any AWS account yet. Ask an administrator.")
    everywhere = access.roles_on(user, None)
    every_target = access.can(user, Action.VIEW, None)
    targets = list(access.targets_for(user, Action.VIEW).order_by("display_name"))
    return Scope(targets, every_target, bool(everywhere & UNTARGETED_ROLES))


# --- filters ---------------------------------------------------------------------------------


@dataclass
class Filters:
    """One audit view. Every field is a GET parameter of the page and of the exports."""

    target: Target | None = None
    framework: str = ""
    actor: str = ""
    kind: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    outside: bool = False

    def as_params(self) -> dict[str, str]:
        """The filter as GET parameters (only those set), for links and the export's record."""
        params = {
            "target": self.target.slug if self.target else "",
            "framework": self.framework,
            "actor": self.actor,
            "kind": self.kind,
            "outcome": self.outcome,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "q": self.q,
            "outside": "1" if self.outside else "",
        }
        return {key: value for key, value in params.items() if value}


#: The actor filter's words for the actors that are not people.
ACTOR_KINDS = {"worker": "worker", "sync": "sync", "system": "system"}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def search_q(text: str) -> Q:
    """Free text over reasons, comments and AWS error messages: PostgreSQL's full-text search
    (websearch syntax: words, "a phrase", -not) with its index; a contains-search elsewhere."""
    if connection.vendor == "postgresql":
        return Q(
            RawSQL(  # noqa: S611 - a constant expression; the text is a parameter
                f"{SEARCH_VECTOR} @@ websearch_to_tsquery('english', %s)",
                [text],
                output_field=BooleanField(),
            )
        )
    found = Q()
    for path in SEARCH_TEXT_FIELDS:
        found |= Q(**{f"details__{path.replace('.', '__')}__icontains": text})
    return found


def reads_the_index(q: str) -> bool:
    """Whether a search for `q` should read its matches from the GIN index and sort them,
    rather than walk the table by id until a page is full: true for words that few rows hold
    (``frameworks_history_search_is_rare``, migration 0015, which says how it knows). One query,
    on PostgreSQL only.

    The planner alone walks the table for every word it has no statistics on, and for a word in
    no row that reads every row (about 7 s at 1,000,000 rows); reading the index for a common
    word instead sorts half the table."""
    if not q or connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT frameworks_history_search_is_rare(websearch_to_tsquery('english', %s))", [q]
        )
        return bool(cursor.fetchone()[0])


def by_id(rows: QuerySet[Any], *, from_index: bool, ascending: bool = False) -> Any:
    """`rows` ordered by id, newest first unless `ascending`. With `from_index`, by id + 0: the
    same order, but not the primary key's, so the planner cannot walk the table by it."""
    key = F("id") + 0 if from_index else F("id")
    return rows.order_by(key.asc() if ascending else key.desc())


def filtered(scope: Scope, filters: Filters) -> QuerySet[HistoryEvent]:
    """The rows of one audit view that this scope sees, not yet ordered or sliced."""
    rows = HistoryEvent.objects.filter(scope.q())
    if filters.target is not None:
        rows = rows.filter(target_id=filters.target.pk)
        if filters.framework:
            rows = rows.filter(framework_name=filters.framework)
    elif filters.framework:
        rows = rows.filter(framework_name=filters.framework)
    if filters.actor:
        if filters.actor in ACTOR_KINDS:
            rows = rows.filter(actor_kind=ACTOR_KINDS[filters.actor])
        else:
            rows = rows.filter(actor_name=filters.actor)
    if filters.kind:
        rows = rows.filter(event__in=events_of(filters.kind))
    if filters.outcome:
        rows = rows.filter(outcome=filters.outcome)
    if filters.since:
        rows = rows.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        # The whole last day is in the range.
        rows = rows.filter(created_at__lt=_day_start(filters.until + timedelta(days=1)))
    if filters.outside:
        rows = rows.filter(details__outside_console=True)
    if filters.q:
        rows = rows.filter(search_q(filters.q))
    return rows


# --- a page ----------------------------------------------------------------------------------


@dataclass
class AuditPage:
    rows: list[HistoryEvent]
    #: The ``before`` of the next older page and the ``after`` of the next newer one.
    older: int | None = None
    newer: int | None = None
    first: bool = True


def _annotate(rows: list[HistoryEvent], scope: Scope) -> None:
    targets = scope.by_id()
    for row in rows:
        row.target_shown = targets.get(row.target_id) if row.target_id else None  # type: ignore[attr-defined]
        row.group = EVENT_GROUPS.get(row.event, "")  # type: ignore[attr-defined]


def audit_page(
    scope: Scope, filters: Filters, *, before: int | None = None, after: int | None = None
) -> AuditPage:
    """One page of the view, newest first: the newest rows, the rows older than ``before``, or
    the rows newer than ``after``. One query (two for a search on PostgreSQL: which plan it
    wants); the targets come from the scope."""
    rows = filtered(scope, filters)
    from_index = reads_the_index(filters.q)
    if after is not None:
        newer = by_id(rows.filter(id__gt=after), from_index=from_index, ascending=True)
        found = list(newer[: PAGE_SIZE + 1])
        more_newer = len(found) > PAGE_SIZE
        page = list(reversed(found[:PAGE_SIZE]))
        result = AuditPage(page, first=False)
        result.newer = page[0].id if page and more_newer else None
        # The row `after` itself was on the page we came from: there is an older page.
        result.older = page[-1].id if page else after + 1
    else:
        if before is not None:
            rows = rows.filter(id__lt=before)
        found = list(by_id(rows, from_index=from_index)[: PAGE_SIZE + 1])
        page = found[:PAGE_SIZE]
        result = AuditPage(page, first=before is None)
        result.older = page[-1].id if len(found) > PAGE_SIZE else None
        result.newer = (page[0].id if page else before - 1) if before is not None else None
    _annotate(result.rows, scope)
    return result


# --- one event -------------------------------------------------------------------------------


@dataclass
class EventDetail:
    row: HistoryEvent
    related: list[HistoryEvent] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def audit_event(scope: Scope, pk: int) -> EventDetail | None:
    """One row the scope sees, with its versions, and the other rows of the same request or
    change (correlation id or change request). Two queries; None if there is no such row or
    this person may not see it."""
    row = (
        HistoryEvent.objects.select_related("version_before", "version_after", "change_request")
        .filter(pk=pk)
        .first()
    )
    if row is None or not scope.sees(row):
        return None
    together = Q(correlation_id=row.correlation_id) if row.correlation_id else Q(pk=row.pk)
    if row.change_request_id:
        together |= Q(change_request_id=row.change_request_id)
    related = list(
        HistoryEvent.objects.filter(scope.q())
        .filter(together)
        .exclude(pk=row.pk)
        .order_by("id")[:RELATED_LIMIT]
    )
    _annotate([row, *related], scope)
    details = row.details or {}
    return EventDetail(
        row,
        related,
        request=details.get("request") or {},
        response=details.get("response"),
        error=details.get("error"),
    )


def latest_checkpoint() -> HistoryCheckpoint | None:
    """The newest signed checkpoint the database has a copy of (one query)."""
    return HistoryCheckpoint.objects.order_by("-created_at", "-id").first()


# --- a framework as it was -------------------------------------------------------------------


def live_row_at(target_id: int, name: str, when: datetime) -> HistoryEvent | None:
    """The last row before `when` that says what AWS held of this framework (one query on
    history_framework_idx); its version_after is the document then, None if it was gone."""
    return (
        HistoryEvent.objects.filter(
            target_id=target_id, framework_name=name, created_at__lt=when, event__in=LIVE_EVENTS
        )
        .select_related("version_after")
        .order_by("-id")
        .first()
    )


def live_versions(target_id: int, name: str, *, limit: int = 200) -> list[HistoryEvent]:
    """The documents this framework had in AWS, newest first: one row per change seen."""
    return list(
        HistoryEvent.objects.filter(target_id=target_id, framework_name=name, event__in=LIVE_EVENTS)
        .select_related("version_after")
        .order_by("-id")[:limit]
    )
