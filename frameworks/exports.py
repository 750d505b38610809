"""The audit view as CSV or JSON Lines, streamed a chunk at a time in constant memory.

Rows go out newest first, like the page, in chunks read by keyset (``id < last``), one query
per chunk; each chunk is written and dropped before the next is read. Every row carries its
hash and the previous row's, and every column the hash covers, so anyone can recompute it
(``frameworks.history.row_hash``; the evidence pack's verifier does).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from frameworks.models import EVENT_GROUPS, Event, Target
from frameworks.queries.audit import Filters, Scope, filtered

#: Rows read per query.
CHUNK = 2000

#: What the hash covers, in the order the database is asked for it (details as JSON text).
HASHED = [
    "id",
    "created_at",
    "actor_id",
    "actor_name",
    "actor_kind",
    "actor_host",
    "target_id",
    "framework_name",
    "change_request_id",
    "event",
    "outcome",
    "version_before_id",
    "version_after_id",
    "details_json",
    "correlation_id",
    "schema_version",
    "prev_hash",
    "row_hash",
]

#: The CSV's columns (the README lists what each means).
CSV_COLUMNS = [
    "id",
    "created_at",
    "actor_kind",
    "actor_name",
    "actor_id",
    "actor_host",
    "target",
    "account_id",
    "region",
    "target_id",
    "framework_name",
    "change_request_id",
    "event",
    "event_words",
    "event_kind",
    "outcome",
    "version_before_id",
    "version_after_id",
    "correlation_id",
    "schema_version",
    "details",
    "prev_hash",
    "row_hash",
]

_WORDS = dict(Event.choices)


def chunks(
    rows: Any, *, below: int | None = None, above: int | None = None, size: int | None = None
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a queryset as tuples of ``HASHED``, a chunk per query: newest first below
    `below`, or oldest first above `above` when that is given."""
    size = size or CHUNK
    values = rows.annotate(details_json=Cast("details", TextField())).values_list(*HASHED)
    ascending = above is not None
    last = above if ascending else below
    while True:
        if last is None:
            page = values
        else:
            page = values.filter(id__gt=last) if ascending else values.filter(id__lt=last)
        chunk = list(page.order_by("id" if ascending else "-id")[:size])
        if not chunk:
            return
        yield chunk
        if len(chunk) < size:
            return
        last = chunk[-1][0]


def as_dict(row: tuple[Any, ...], targets: dict[int, Target]) -> dict[str, Any]:
    """One exported row: the hashed columns by name, plus the target's names and the words."""
    record = dict(zip(HASHED, row, strict=True))
    record["created_at"] = record["created_at"].astimezone(UTC).isoformat()
    target = targets.get(record["target_id"]) if record["target_id"] else None
    record["target"] = target.slug if target else ""
    record["account_id"] = target.account_id if target else ""
    record["region"] = target.region if target else ""
    record["event_words"] = _WORDS.get(record["event"], record["event"])
    record["event_kind"] = EVENT_GROUPS.get(record["event"], "")
    return record


def jsonl_line(record: dict[str, Any]) -> str:
    """One JSON Lines row; ``details`` is the stored JSON itself, not parsed and re-written."""
    details = record.pop("details_json")
    head = json.dumps(record, ensure_ascii=False)
    return f'{head[:-1]}, "details": {details}}}\n'


def csv_chunks(scope: Scope, filters: Filters, *, below: int) -> Iterator[str]:
    """The CSV, a header then one string per chunk of rows. Built from the row tuples
    directly: this loop is what an export of a million rows spends its time in."""
    targets = {t.pk: (t.slug, t.account_id, t.region) for t in Target.objects.all()}
    none = ("", "", "")
    groups = {event: str(group) for event, group in EVENT_GROUPS.items()}
    buffer = io.StringIO()
    csv.writer(buffer).writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for chunk in chunks(filtered(scope, filters), below=below):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows(
            (
                row_id,
                created.astimezone(UTC).isoformat(),
                actor_kind,
                actor_name,
                actor_id,
                actor_host,
                *targets.get(target_id, none),
                target_id,
                framework,
                change_id,
                event,
                _WORDS.get(event, event),
                groups.get(event, ""),
                outcome,
                before_id,
                after_id,
                correlation,
                schema,
                details,
                prev_hash,
                row_hash,
            )
            for (
                row_id,
                created,
                actor_id,
                actor_name,
                actor_kind,
                actor_host,
                target_id,
                framework,
                change_id,
                event,
                outcome,
                before_id,
                after_id,
                details,
                correlation,
                schema,
                prev_hash,
                row_hash,
            ) in chunk
        )
        yield buffer.getvalue()


def jsonl_chunks(scope: Scope, filters: Filters, *, below: int) -> Iterator[str]:
    """JSON Lines, one string per chunk of rows."""
    targets = {t.pk: t for t in Target.objects.all()}
    for chunk in chunks(filtered(scope, filters), below=below):
        yield "".join(jsonl_line(as_dict(row, targets)) for row in chunk)


def hashed_record(record: dict[str, Any]) -> dict[str, Any]:
    """What ``history.canonical`` hashes, from an exported row (details parsed)."""
    keys = [k for k in HASHED if k not in ("details_json", "row_hash")]
    canonical = {key: record[key] for key in keys}
    canonical["details"] = record["details"]
    return canonical
