"""The evidence pack: one ZIP that shows what happened to a set of targets in a period and
proves it was not altered, readable and checkable without the console.

What is in it (``summary.html`` says the same to a person):

- ``frameworks/<target>/<name>/start.json`` and ``end.json``: each framework's document at the
  start and the end of the period, from the stored document versions (absent: not in AWS);
- ``changes.json``: every change request with a row in the period, its reason, approvals,
  comments and AWS outcome;
- ``changes/<id>/base.json`` and ``proposed.json``: the stored document versions each change
  started from and proposes, exactly as stored (normalised, without name and tags), so the
  verifier recomputes the review hash the approvals bind from them and the change's tags;
- ``roles.json``: who held which role on those targets (and everywhere) at the start of the
  period and now, which accounts were inactive, every grant, removal and account change that
  took effect in the period, and every access row of the period (``queries.standing``);
- ``history.jsonl``: the period's rows of those targets, in full;
- ``chain.jsonl``: every row from the start checkpoint to the end checkpoint, in full where the
  maker may see it, otherwise as its id and hashes only, so nothing can be left out unseen;
- ``checkpoints/start.json`` and ``end.json``: the signed checkpoints on either side of the
  period (the chain's first row stands for the start when no checkpoint is older; a checkpoint
  of the head is signed for the pack when none is newer);
- ``manifest.json`` (the SHA-256 of every file), ``manifest.sig`` (its Ed25519 signature),
  ``public-key.pem`` and ``verify.py``, which checks all of it offline.

The ZIP is written to a temporary file a member at a time, then streamed from it: memory does
not grow with the history.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from frameworks import checkpoints, document, exports
from frameworks.history import GENESIS
from frameworks.models import (
    ChangeRequest,
    EventGroup,
    Framework,
    HistoryCheckpoint,
    HistoryEvent,
    HistoryHead,
    Target,
    events_of,
)
from frameworks.queries import standing
from frameworks.queries.audit import Scope, live_row_at

VERIFIER = Path(__file__).with_name("evidence_verify.py")
STREAM_BLOCK = 256 * 1024


class PackRefused(Exception):
    """The pack cannot prove itself (no signing key): nothing is made."""


@dataclass
class Pack:
    file: IO[bytes]
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)


class _Writer:
    """Writes members into the ZIP and remembers each one's SHA-256 for the manifest."""

    def __init__(self, archive: zipfile.ZipFile, pack: Pack) -> None:
        self.archive, self.pack = archive, pack

    def text(self, name: str, text: str) -> None:
        data = text.encode("utf-8")
        self.archive.writestr(name, data)
        self.pack.files[name] = hashlib.sha256(data).hexdigest()

    def json(self, name: str, value: Any) -> None:
        self.text(name, json.dumps(value, indent=2, cls=DjangoJSONEncoder, ensure_ascii=False))

    def lines(self, name: str, lines: Iterator[str]) -> int:
        digest, count = hashlib.sha256(), 0
        with self.archive.open(name, "w", force_zip64=True) as member:
            for line in lines:
                data = line.encode("utf-8")
                member.write(data)
                digest.update(data)
                count += 1
        self.pack.files[name] = digest.hexdigest()
        return count


def _trusted(rows: Any, key: Any) -> checkpoints.Checkpoint | None:
    for copy in rows:
        try:
            return checkpoints.parse(copy.record, key)
        except checkpoints.CheckpointError:
            continue  # a copy that does not verify is no anchor
    return None


def _checkpoints(start: datetime, end: datetime, last_row: int) -> tuple[str, str, bool]:
    """The signed records on either side of the period: (start, end, end made for the pack)."""
    private = checkpoints.load_private_key()
    if private is None:
        raise PackRefused(
            "No history signing key is configured (HISTORY_SIGNING_KEY or "
            "HISTORY_SIGNING_KEY_FILE), so a pack could not prove itself."
        )
    key = private.public_key()
    before = _trusted(
        HistoryCheckpoint.objects.filter(created_at__lte=start).order_by("-created_at", "-id"),
        key,
    )
    if before is None:
        # No checkpoint before the period: the chain's own start (row 0, the genesis hash).
        before = checkpoints.sign(private, 0, GENESIS, timezone.now())
    after = _trusted(
        HistoryCheckpoint.objects.filter(created_at__gte=end, row_id__gte=last_row).order_by(
            "created_at", "id"
        ),
        key,
    )
    made = after is None
    if after is None:
        head = HistoryHead.objects.filter(pk=1).first()
        after = checkpoints.sign(
            private,
            head.last_id if head else 0,
            head.last_hash if head else GENESIS,
            timezone.now(),
        )
    return before.line, after.line, made


def _document_files(writer: _Writer, targets: list[Target], start: datetime, end: datetime) -> int:
    names = set(
        Framework.objects.filter(target__in=targets).values_list("target_id", "name")
    ) | set(
        HistoryEvent.objects.filter(target__in=targets, created_at__lt=end)
        .exclude(framework_name="")
        .values_list("target_id", "framework_name")
        .distinct()
    )
    slugs = {t.pk: t.slug for t in targets}
    for target_id, name in sorted(names):
        for label, when in (("start", start), ("end", end)):
            row = live_row_at(target_id, name, when)
            version = row.version_after if row else None
            value = (
                {
                    "FrameworkName": name,
                    **version.document,
                    "content_hash": version.content_hash,
                    "as_seen_at": row.created_at if row else None,
                }
                if version
                else {"FrameworkName": name, "absent": True}
            )
            writer.json(f"frameworks/{slugs[target_id]}/{name}/{label}.json", value)
    return len(names)


def _change_documents(writer: _Writer, change: ChangeRequest) -> dict[str, str | None]:
    """Write the change's base and proposed versions into the pack; their member names."""
    names: dict[str, str | None] = {}
    for label, version in (("base", change.base_version), ("proposed", change.proposed_version)):
        names[label] = None
        if version is not None:
            name = f"changes/{change.pk}/{label}.json"
            writer.json(name, version.document)
            names[label] = name
    return names


def _changes(
    writer: _Writer, targets: list[Target], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    ids = (
        HistoryEvent.objects.filter(target__in=targets, created_at__gte=start, created_at__lt=end)
        .exclude(change_request_id=None)
        .values_list("change_request_id", flat=True)
        .distinct()
    )
    changes = (
        ChangeRequest.objects.filter(pk__in=list(ids))
        .select_related("target", "base_version", "proposed_version")
        .prefetch_related("approvals", "comments")
        .order_by("id")
    )
    return [
        {
            "id": c.pk,
            "kind": c.kind,
            "target": c.target.slug,
            "framework": c.framework_name,
            "author": c.author_name,
            "reason": c.reason,
            "state": c.state,
            "created_at": c.created_at,
            "submitted_at": c.submitted_at,
            "applied_at": c.applied_at,
            "base_hash": c.base_version.content_hash if c.base_version else None,
            "proposed_hash": c.proposed_version.content_hash if c.proposed_version else None,
            "base_version_id": c.base_version_id,
            "proposed_version_id": c.proposed_version_id,
            "documents": _change_documents(writer, c),
            # Approvals bind to the review hash: the content hash, and the tags when the change
            # proposes any (document.review_hash), so the pack shows what was approved whole.
            "base_tags": c.base_tags,
            "proposed_tags": c.proposed_tags,
            "review_hash": c.review_hash,
            "tag_changes": [
                change.text for change in document.tag_diff(c.base_tags, c.proposed_tags)
            ],
            "approvals": [
                {
                    "reviewer": a.reviewer_name,
                    "decision": a.decision,
                    "content_hash": a.content_hash,
                    "at": a.created_at,
                    "dismissed_at": a.dismissed_at,
                }
                for a in c.approvals.all()
            ],
            "comments": [
                {"author": m.author_name, "body": m.body, "at": m.created_at}
                for m in c.comments.all()
            ],
            "aws_outcome": c.last_error or ({"applied": True} if c.state == "applied" else None),
        }
        for c in changes
    ]


ROLES_NOTE = (
    "Roles at the start of the period are the roles now with every access change made since "
    "undone, newest first. This is exact for changes made through the console's access "
    "services and the identity provider; a change made outside them (a Django shell, raw SQL) "
    "is not seen. Both the roles now and at the start are here, with every change in the "
    "period and since its end, so a reader can replay one into the other and check."
)


def _roles(
    targets: list[Target], start: datetime, end: datetime, below: int | None
) -> dict[str, Any]:
    events = HistoryEvent.objects.filter(
        Q(target__in=targets) | Q(target__isnull=True),
        event__in=events_of(EventGroup.ACCESS),
        created_at__gte=start,
        created_at__lt=end,
    )
    if below is not None:
        events = events.filter(id__lt=below)
    now = timezone.now()
    return {
        "note": ROLES_NOTE,
        "now": standing.roles_at(targets, now).as_json(),
        "at_start": standing.roles_at(targets, start).as_json(),
        "changes_during": standing.changes_between(targets, start, end),
        # With these, the changes from the start to the roles now are all in the pack.
        "changes_since_end": standing.changes_between(targets, end, now) if end < now else [],
        # Every access row of the period, sign-ins, refusals and declined requests included.
        "access_events_during": [
            {
                "id": row.id,
                "at": row.created_at,
                "actor": row.actor_name,
                "event": row.event,
                "words": row.get_event_display(),
                "target_id": row.target_id,
                "details": row.details,
            }
            for row in events.order_by("id")[:100_000]
        ],
    }


def _full_rows(scope: Scope, targets: list[Target]) -> Q:
    wanted = Q(target_id__in=[t.pk for t in targets])
    if scope.untargeted:
        wanted |= Q(target_id__isnull=True)
    return scope.q() & wanted


def _chain_lines(first: int, last: int, full: Q, target_map: dict[int, Target]) -> Iterator[str]:
    """Rows first..last in id order: in full where `full` holds, else id and hashes only."""
    position = first
    while position <= last:
        upto = min(last, position + exports.CHUNK - 1)
        shown = {
            row[0]: row
            for chunk in exports.chunks(
                HistoryEvent.objects.filter(full, id__gte=position), below=upto + 1
            )
            for row in chunk
        }
        hashes = HistoryEvent.objects.filter(id__gte=position, id__lte=upto).order_by("id")
        for row_id, prev_hash, row_hash in hashes.values_list("id", "prev_hash", "row_hash"):
            if row_id in shown:
                yield exports.jsonl_line(exports.as_dict(shown[row_id], target_map))
            else:
                yield (
                    json.dumps({"id": row_id, "prev_hash": prev_hash, "row_hash": row_hash}) + "\n"
                )
        position = upto + 1


def _period_lines(
    scope: Scope, targets: list[Target], start: datetime, end: datetime, below: int | None
) -> Iterator[str]:
    rows = HistoryEvent.objects.filter(
        _full_rows(scope, targets), created_at__gte=start, created_at__lt=end
    )
    if below is not None:
        rows = rows.filter(id__lt=below)
    target_map = {t.pk: t for t in Target.objects.all()}
    for chunk in exports.chunks(rows, above=0):
        for row in chunk:
            yield exports.jsonl_line(exports.as_dict(row, target_map))


def build(
    *, scope: Scope, targets: list[Target], since: date, until: date, below: int | None = None
) -> Pack:
    """The pack for `targets` from the start of `since` to the end of `until` (UTC), as the
    person of `scope` may see it. `below`: the id of the record of this pack (rows before it)."""
    start, end = _day(since), _day(until + timedelta(days=1))
    period = HistoryEvent.objects.filter(created_at__gte=start, created_at__lt=end)
    last_row = period.order_by("-id").values_list("id", flat=True).first() or 0
    start_line, end_line, made = _checkpoints(start, end, last_row)
    key = checkpoints.load_private_key()
    assert key is not None
    public = key.public_key()
    first = checkpoints.parse(start_line, public)
    last = checkpoints.parse(end_line, public)
    pack = Pack(tempfile.TemporaryFile())  # noqa: SIM115 - closed when the response ends
    target_map = {t.pk: t for t in Target.objects.all()}
    with zipfile.ZipFile(pack.file, "w", zipfile.ZIP_DEFLATED) as archive:
        writer = _Writer(archive, pack)
        framework_count = _document_files(writer, targets, start, end)
        changes = _changes(writer, targets, start, end)
        writer.json("changes.json", changes)
        roles = _roles(targets, start, end, below)
        writer.json("roles.json", roles)
        rows = writer.lines("history.jsonl", _period_lines(scope, targets, start, end, below))
        chain = writer.lines(
            "chain.jsonl",
            _chain_lines(first.row_id + 1, last.row_id, _full_rows(scope, targets), target_map),
        )
        writer.text("checkpoints/start.json", start_line)
        writer.text("checkpoints/end.json", end_line)
        writer.text("verify.py", VERIFIER.read_text())
        summary_rows = list(
            HistoryEvent.objects.filter(
                _full_rows(scope, targets), created_at__gte=start, created_at__lt=end
            ).order_by("id")[:2000]
        )
        writer.text(
            "summary.html",
            render_to_string(
                "audit/pack_summary.html",
                {
                    "since": since,
                    "until": until,
                    "targets": targets,
                    "changes": changes,
                    "roles": roles,
                    "rows": summary_rows,
                    "row_count": rows,
                    "chain_count": chain,
                    "framework_count": framework_count,
                    "start": first,
                    "end": last,
                    "end_made": made,
                    "key_id": checkpoints.key_id(public),
                    "made_at": timezone.now(),
                },
            ),
        )
        manifest = json.dumps(
            {
                "period": {"from": since.isoformat(), "to": until.isoformat()},
                "targets": [t.slug for t in targets],
                "made_at": timezone.now().isoformat(),
                "key_id": checkpoints.key_id(public),
                "files": dict(sorted(pack.files.items())),
            },
            indent=2,
        ).encode()
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.sig", base64.b64encode(key.sign(manifest)).decode())
        archive.writestr("public-key.pem", checkpoints.public_key_pem(public))
    pack.file.seek(0)
    return pack


def stream(pack: Pack) -> Iterator[bytes]:
    try:
        while block := pack.file.read(STREAM_BLOCK):
            yield block
    finally:
        pack.file.close()
