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
from datetime import UTC, datetime
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from frameworks.models import EVENT_GROUPS, Event, Target
from frameworks.queries.audit import Filters, Scope, by_id, filtered, reads_the_index

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


def stamp(text: str) -> str:
    """``created_at`` read as the database's text, as ``datetime.isoformat()`` in UTC writes it
    (``2026-03-01T09:30:00.250000+00:00``; no fraction when it is zero).

    PostgreSQL writes ``2026-03-01 09:30:00.25+00`` (Django's connections are in UTC), SQLite
    ``2026-03-01 09:30:00.250000`` (naive UTC); anything else is parsed. Turning the text
    round in a few string operations, rather than making a datetime of every row and writing
    it out again, is most of what keeps the CSV export within reach of COPY."""
    day, clock, rest = text[:10], text[11:19], text[19:]
    if rest.endswith("+00"):
        rest = rest[:-3]
    if (not rest or (rest[0] == "." and rest[1:].isdigit())) and len(rest) <= 7:
        fraction = rest.ljust(7, "0") if rest.strip(".0") else ""
        return f"{day}T{clock}{fraction}+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def chunks(
    rows: Any,
    *,
    below: int | None = None,
    above: int | None = None,
    size: int | None = None,
    text_stamps: bool = False,
    search: str = "",
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a queryset as tuples of ``HASHED``, a chunk per query: newest first below
    `below`, or oldest first above `above` when that is given. With `text_stamps`,
    ``created_at`` comes as the database's text (for ``stamp``), not as a datetime. `search`
    is the free text the rows are filtered by, if any (``audit.reads_the_index`` plans for it)."""
    size = size or CHUNK
    columns = list(HASHED)
    rows = rows.annotate(details_json=Cast("details", TextField()))
    if text_stamps:
        rows = rows.annotate(created_text=Cast("created_at", TextField()))
        columns[HASHED.index("created_at")] = "created_text"
    values = rows.values_list(*columns)
    ascending = above is not None
    from_index = reads_the_index(search)
    last = above if ascending else below
    while True:
        if last is None:
            page = values
        else:
            page = values.filter(id__gt=last) if ascending else values.filter(id__lt=last)
        chunk = list(by_id(page, from_index=from_index, ascending=ascending)[:size])
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
    rows = filtered(scope, filters)
    for chunk in chunks(rows, below=below, text_stamps=True, search=filters.q):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows(
            (
                row_id,
                stamp(created),
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
    for chunk in chunks(filtered(scope, filters), below=below, search=filters.q):
        yield "".join(jsonl_line(as_dict(row, targets)) for row in chunk)


def hashed_record(record: dict[str, Any]) -> dict[str, Any]:
    """What ``history.canonical`` hashes, from an exported row (details parsed)."""
    keys = [k for k in HASHED if k not in ("details_json", "row_hash")]
    canonical = {key: record[key] for key in keys}
    canonical["details"] = record["details"]
    return canonical
