"""A framework as it was: the documents it had in AWS, one at a given time, and two to compare.

Read from the history rows that say what AWS held (``LIVE_EVENTS``: a sync that found it new or
changed or gone, an apply), each pointing at the stored document version. Every function here
is one query on history_framework_idx, however long the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from frameworks import document
from frameworks.models import LIVE_EVENTS, HistoryEvent, Target
from frameworks.queries.audit import live_versions

#: Versions a framework's versions page lists (the newest ones).
VERSIONS_LISTED = 200


def framework_versions(target: Target, name: str) -> list[HistoryEvent]:
    """The documents this framework had in AWS, newest first: one row per change seen."""
    return live_versions(target.pk, name, limit=VERSIONS_LISTED)


def version_at(target: Target, name: str, when: datetime) -> HistoryEvent | None:
    """The row that says what AWS held of this framework at `when` (the last one at or before
    it); None if the console had not seen the framework by then."""
    return (
        HistoryEvent.objects.filter(
            target_id=target.pk, framework_name=name, created_at__lte=when, event__in=LIVE_EVENTS
        )
        .select_related("version_after")
        .order_by("-id")
        .first()
    )


def version_rows(target: Target, name: str, ids: list[int]) -> dict[int, HistoryEvent]:
    """The rows with these ids that are versions of this framework, by id (others left out)."""
    rows = HistoryEvent.objects.filter(
        pk__in=ids, target_id=target.pk, framework_name=name, event__in=LIVE_EVENTS
    ).select_related("version_after")
    return {row.pk: row for row in rows}


@dataclass(frozen=True)
class VersionDocument:
    """The document one version row saw (None: the framework was gone from AWS then)."""

    row: HistoryEvent
    document: document.Document | None


def document_of(row: HistoryEvent, name: str) -> VersionDocument:
    """The row's document, named after the framework (versions store no name, and no tags)."""
    if row.version_after is None:
        return VersionDocument(row, None)
    doc = row.version_after.as_document()
    doc.name = name
    return VersionDocument(row, doc)
