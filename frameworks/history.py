"""The change history: append a row, chain it, verify the chain.

Every row carries the hash of the row before it and a hash over its own content plus that one
(sha256 of a canonical JSON). Appends lock the single ``HistoryHead`` row inside the caller's
transaction, so rows are numbered 1, 2, 3, ... without gaps and the chain never forks, even when
many transactions append at once (PostgreSQL: SELECT ... FOR UPDATE; SQLite: our transactions
are IMMEDIATE, so a writer holds the database lock from BEGIN).

The head is locked last in every transaction that writes history, after any change request
rows, so the two kinds of lock are always taken in the same order.
"""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from django.utils import timezone

from frameworks import document
from frameworks.models import (
    ActorKind,
    ChangeRequest,
    DocumentVersion,
    HistoryEvent,
    HistoryHead,
    Outcome,
    TamperedVersion,
    Target,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

GENESIS = "0" * 64

_correlation: ContextVar[str | None] = ContextVar("history_correlation", default=None)


@contextmanager
def correlation(correlation_id: str | None = None) -> Iterator[str]:
    """Rows appended inside share one correlation id: the given one, the one already in force
    (a service called by another, a task's id), or a new one."""
    current = _correlation.get()
    if current and not correlation_id:
        yield current
        return
    token = _correlation.set(correlation_id or uuid.uuid4().hex)
    try:
        yield _correlation.get() or ""
    finally:
        _correlation.reset(token)


def _host() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class Actor:
    """Who did it, as they were then: a person, the apply worker, sync or the system."""

    kind: str
    name: str
    user_id: int | None = None
    host: str = ""

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(ActorKind.USER, user.get_username(), user.pk)

    @classmethod
    def worker(cls, owner: str) -> Actor:
        """The apply worker; `owner` is its lease owner id ("host:pid:..."), kept as the name."""
        return cls(ActorKind.WORKER, owner, host=_host())

    @classmethod
    def sync(cls) -> Actor:
        return cls(ActorKind.SYNC, "sync", host=_host())

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name, host=_host())


@dataclass
class Entry:
    """One row to append; ``append_many`` numbers, times and chains it."""

    event: str
    actor: Actor
    outcome: str = Outcome.OK
    target: Target | int | None = None
    framework_name: str = ""
    change_request: ChangeRequest | None = None
    version_before: DocumentVersion | None = None
    version_after: DocumentVersion | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _pk(value: Model | int | None) -> int | None:
    return value.pk if isinstance(value, Model) else value


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    """Details exactly as they will read back from the database (dates as text, etc.), so the
    hash computed now matches the one recomputed later."""
    return json.loads(json.dumps(details, cls=DjangoJSONEncoder))


def canonical(row: HistoryEvent) -> dict[str, Any]:
    """The content a row's hash covers: every column except the hash itself."""
    return {
        "id": row.id,
        "created_at": row.created_at.astimezone(UTC).isoformat(),
        "actor_id": row.actor_id,
        "actor_name": row.actor_name,
        "actor_kind": row.actor_kind,
        "actor_host": row.actor_host,
        "target_id": row.target_id,
        "framework_name": row.framework_name,
        "change_request_id": row.change_request_id,
        "event": row.event,
        "outcome": row.outcome,
        "version_before_id": row.version_before_id,
        "version_after_id": row.version_after_id,
        "details": row.details,
        "correlation_id": row.correlation_id,
        "schema_version": row.schema_version,
        "prev_hash": row.prev_hash,
    }


def row_hash(row: HistoryEvent) -> str:
    text = json.dumps(canonical(row), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Statements:
    """The statements of an append, written once per database: the ORM would compile them
    again on every append, which costs more than running them. On PostgreSQL the last INSERT
    and the head's move are one statement (a data-modifying WITH): one round trip less."""

    fields: tuple[Field[Any, Any], ...]
    lock_head: str
    insert_prefix: str
    row_values: str
    move_head: str
    insert_moves_head: bool


@functools.cache
def _statements(alias: str) -> _Statements:
    # Only the models' own table and column names are put into the text; values are params.
    connection = connections[alias]
    quote = connection.ops.quote_name
    head = quote(HistoryHead._meta.db_table)
    table = quote(HistoryEvent._meta.db_table)
    fields = tuple(HistoryEvent._meta.concrete_fields)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return _Statements(
        fields=fields,
        lock_head=f"SELECT last_id, last_hash FROM {head} WHERE id = 1{for_update}",  # noqa: S608
        insert_prefix=f"INSERT INTO {table} ({columns}) VALUES ",  # noqa: S608
        row_values="(" + ", ".join(["%s"] * len(fields)) + ")",
        move_head=f"UPDATE {head} SET last_id = %s, last_hash = %s WHERE id = 1",  # noqa: S608
        insert_moves_head=connection.vendor == "postgresql",
    )


def _lock_head(statements: _Statements, cursor: CursorWrapper) -> tuple[int, str]:
    """The head's (last id, last hash), locked until the transaction ends."""
    cursor.execute(statements.lock_head)
    found = cursor.fetchone()
    if found is None:
        # A transactional test's flush empties this table like every other.
        head, _ = HistoryHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_id": 0, "last_hash": GENESIS}
        )
        return head.last_id, head.last_hash
    return int(found[0]), str(found[1])


def _insert(statements: _Statements, cursor: CursorWrapper, rows: list[HistoryEvent]) -> None:
    """Multi-row INSERTs (as many rows per statement as the database takes), each value
    prepared by its field as bulk_create would, then the head moved to the last row."""
    connection = cursor.db
    params: list[Any] = []
    for row in rows:
        params.extend(
            f.get_db_prep_save(getattr(row, f.attname), connection) for f in statements.fields
        )
        row._state.adding, row._state.db = False, connection.alias
    head: list[Any] = [rows[-1].id, rows[-1].row_hash]
    width = len(statements.fields)
    batch = max(1, connection.ops.bulk_batch_size(list(statements.fields), rows))
    for start in range(0, len(rows), batch):
        chunk = params[start * width : (start + batch) * width]
        insert = statements.insert_prefix + ", ".join(
            [statements.row_values] * (len(chunk) // width)
        )
        if start + batch >= len(rows) and statements.insert_moves_head:
            cursor.execute(f"WITH added AS ({insert}) {statements.move_head}", [*chunk, *head])
            return
        cursor.execute(insert, chunk)
    cursor.execute(statements.move_head, head)


def append_many(entries: list[Entry]) -> list[HistoryEvent]:
    """Append rows in order, in the caller's transaction (or a new one): three queries (two on
    PostgreSQL), one INSERT more per batch of rows past the database's limit on parameters."""
    if not entries:
        return []
    alias = router.db_for_write(HistoryEvent)
    with transaction.atomic(using=alias, savepoint=False), connections[alias].cursor() as cursor:
        statements = _statements(alias)
        last_id, last_hash = _lock_head(statements, cursor)
        now = timezone.now()
        correlation_id = _correlation.get() or uuid.uuid4().hex
        rows: list[HistoryEvent] = []
        prev_hash, next_id = last_hash, last_id + 1
        for entry in entries:
            change = entry.change_request
            row = HistoryEvent(
                id=next_id,
                created_at=now,
                actor_id=entry.actor.user_id,
                actor_name=entry.actor.name[:150],
                actor_kind=entry.actor.kind,
                actor_host=entry.actor.host,
                target_id=_pk(entry.target) or (change.target_id if change else None),
                framework_name=entry.framework_name or (change.framework_name if change else ""),
                change_request_id=_pk(change),
                event=entry.event,
                outcome=entry.outcome,
                version_before_id=_pk(entry.version_before),
                version_after_id=_pk(entry.version_after),
                details=_json_safe(entry.details),
                correlation_id=correlation_id,
                schema_version=HistoryEvent.SCHEMA_VERSION,
                prev_hash=prev_hash,
            )
            row.row_hash = row_hash(row)
            rows.append(row)
            prev_hash, next_id = row.row_hash, next_id + 1
        _insert(statements, cursor, rows)
    return rows


def append(event: str, actor: Actor, **fields: Any) -> HistoryEvent:
    """Append one row; see ``Entry`` for the fields."""
    return append_many([Entry(event, actor, **fields)])[0]


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first place the chain does not hold: what happened and to which row."""

    kind: str  # "edited", "removed", "inserted"
    row_id: int | None
    message: str


def _row_problem(row: HistoryEvent, expected_id: int, prev_hash: str) -> Problem | None:
    if row.row_hash != row_hash(row):
        return Problem("edited", row.id, f"row {row.id} was edited: it no longer matches its hash")
    if row.id > expected_id:
        gone = (
            f"row {expected_id} was"
            if row.id == expected_id + 1
            else (f"rows {expected_id}-{row.id - 1} were")
        )
        return Problem(
            "removed", expected_id, f"{gone} removed: row {row.id} follows row {expected_id - 1}"
        )
    if row.prev_hash != prev_hash:
        # Both rows match their own hashes, but they were not written one after the other: the
        # earlier one was put in place of the row that was there.
        return Problem(
            "inserted",
            row.id - 1,
            f"row {row.id - 1} was inserted: row {row.id} was chained to a different row",
        )
    return None


def _head_problem(head: HistoryHead | None, last_id: int, last_hash: str) -> Problem | None:
    head_id = head.last_id if head else 0
    head_hash = head.last_hash if head else GENESIS
    if last_id > head_id:
        return Problem(
            "inserted",
            head_id + 1,
            f"row {head_id + 1} was inserted after the last row the application appended "
            f"({head_id})",
        )
    if last_id < head_id:
        return Problem(
            "removed",
            last_id + 1,
            f"row {last_id + 1} was removed: the application appended up to row {head_id}",
        )
    if last_hash != head_hash:
        return Problem("edited", last_id, f"row {last_id} was replaced after it was appended")
    return None


def _version_problem() -> Problem | None:
    for version in DocumentVersion.objects.order_by("id").iterator(chunk_size=500):
        try:
            same = document.content_hash(version.as_document()) == version.content_hash
        except (document.DocumentError, TamperedVersion):
            same = False
        if not same:
            return Problem(
                "edited", None, f"document version {version.pk} was edited: its content changed"
            )
    return None


def verify() -> tuple[int, Problem | None]:
    """Walk the chain from the first row: (rows checked, first problem or None)."""
    expected_id, prev_hash, count = 1, GENESIS, 0
    for row in HistoryEvent.objects.order_by("id").iterator(chunk_size=2000):
        problem = _row_problem(row, expected_id, prev_hash)
        if problem:
            return count, problem
        count += 1
        expected_id, prev_hash = row.id + 1, row.row_hash
    problem = _head_problem(HistoryHead.objects.filter(pk=1).first(), expected_id - 1, prev_hash)
    return count, problem or _version_problem()
