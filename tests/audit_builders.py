"""History rows and signing keys for the audit tests, written the way the product writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from frameworks import checkpoints, history
from frameworks.history import Actor, Entry
from frameworks.models import Event, HistoryEvent, Outcome, Target
from tests.database import superuser_cursor


def rows(
    count: int,
    *,
    target: Target | None = None,
    event: str = Event.SUBMITTED,
    framework: str = "daily",
    actor: Actor | None = None,
    outcome: str = Outcome.OK,
    details: dict[str, Any] | None = None,
    batch: int = 5000,
) -> list[int]:
    """Append `count` rows through the chain; their ids."""
    who = actor or Actor("user", "erin")
    ids: list[int] = []
    for start in range(0, count, batch):
        entries = [
            Entry(
                event,
                who,
                outcome=outcome,
                target=target,
                framework_name=framework if target else "",
                details=dict(details or {"reason": f"row {start + i}"}),
            )
            for i in range(min(batch, count - start))
        ]
        ids += [row.id for row in history.append_many(entries)]
    return ids


def set_time(ids: list[int], when: datetime) -> None:
    """Move rows in time and re-chain everything after them, as if appended then (SQLite and a
    superuser's PostgreSQL session only: the triggers are bypassed)."""
    with superuser_cursor() as cursor:
        cursor.execute(
            "UPDATE frameworks_historyevent SET created_at = %s WHERE id >= %s AND id <= %s",
            [when, min(ids), max(ids)],
        )
    rechain(min(ids))


def raw(sql: str, params: list[Any] | None = None) -> None:
    """Run SQL past the append-only guard, as someone with the database password would."""
    with superuser_cursor() as cursor:
        cursor.execute(sql, params or [])


def rechain(from_id: int) -> None:
    """Recompute every hash from `from_id` on and move the head: a consistent tail rewrite."""
    before = HistoryEvent.objects.filter(id__lt=from_id).order_by("-id").first()
    prev = before.row_hash if before else history.GENESIS
    last_id = before.id if before else 0
    for row in HistoryEvent.objects.filter(id__gte=from_id).order_by("id"):
        row.prev_hash = prev
        row.row_hash = history.row_hash(row)
        raw(
            "UPDATE frameworks_historyevent SET prev_hash = %s, row_hash = %s WHERE id = %s",
            [row.prev_hash, row.row_hash, row.id],
        )
        prev, last_id = row.row_hash, row.id
    raw(
        "UPDATE frameworks_historyhead SET last_id = %s, last_hash = %s WHERE id = 1",
        [last_id, prev],
    )


def signing_key(settings: Any, tmp_path: Any) -> Any:
    """Configure a fresh signing key and a checkpoint file; the private key."""
    pem = checkpoints.generate_private_key_pem()
    settings.HISTORY_SIGNING_KEY = pem
    settings.HISTORY_SIGNING_KEY_FILE = ""
    settings.HISTORY_PUBLIC_KEY_FILE = ""
    settings.HISTORY_CHECKPOINT_DESTINATIONS = [f"file:{tmp_path / 'checkpoints.jsonl'}"]
    return checkpoints.load_private_key()
