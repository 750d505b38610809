"""Signed checkpoints: the history's chain head anchored outside the database.

The hash chain shows a row edited, removed or inserted in the middle, but someone who can write
the database could rewrite every row after a point, head included, consistently. A checkpoint
is the head (row id, hash, time) signed with an Ed25519 key the database never holds, written
every ``HISTORY_CHECKPOINT_SECONDS`` by one process (beat's task) to destinations the database
cannot reach: a file, a JSON line on standard output for a log system, an S3 bucket under
Object Lock. Row N's hash covers every row before it, so a checkpoint at row N proves rows 1..N
unchanged; rows written since the last checkpoint are protected only by the chain itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from frameworks import aws
from frameworks.history import GENESIS
from frameworks.models import HistoryCheckpoint, HistoryEvent, HistoryHead

RECORD_TYPE = "history-checkpoint"


class CheckpointError(Exception):
    """A checkpoint that cannot be trusted: signed with another key, edited, or unreadable."""


# --- keys ------------------------------------------------------------------------------------


def load_private_key() -> Ed25519PrivateKey | None:
    """The signing key from ``HISTORY_SIGNING_KEY`` (PEM text) or ``HISTORY_SIGNING_KEY_FILE``
    (a PEM file), or None when neither is set (checkpoints are then not written)."""
    text = settings.HISTORY_SIGNING_KEY
    if not text and settings.HISTORY_SIGNING_KEY_FILE:
        try:
            text = Path(settings.HISTORY_SIGNING_KEY_FILE).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"HISTORY_SIGNING_KEY_FILE {settings.HISTORY_SIGNING_KEY_FILE!r} cannot be "
                f"read: {exc.strerror}"
            ) from None
    if not text:
        return None
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except ValueError:
        raise ImproperlyConfigured(
            "HISTORY_SIGNING_KEY(_FILE) is not a PEM private key "
            "(make one with `python manage.py history_key --generate FILE`)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("HISTORY_SIGNING_KEY(_FILE) must be an Ed25519 key")
    return key


def generate_private_key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise CheckpointError("the public key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("the public key is not an Ed25519 key")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verifying_key() -> Ed25519PublicKey | None:
    """The public key that checks checkpoints: ``HISTORY_PUBLIC_KEY_FILE``, or the signing
    key's own."""
    if settings.HISTORY_PUBLIC_KEY_FILE:
        return load_public_key(Path(settings.HISTORY_PUBLIC_KEY_FILE).read_text())
    private = load_private_key()
    return private.public_key() if private else None


# --- records ---------------------------------------------------------------------------------


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Checkpoint:
    row_id: int
    row_hash: str
    at: datetime
    key_id: str
    line: str  # the signed record, one JSON line


def sign(key: Ed25519PrivateKey, row_id: int, row_hash: str, at: datetime) -> Checkpoint:
    payload = {
        "type": RECORD_TYPE,
        "row_id": row_id,
        "row_hash": row_hash,
        "at": at.isoformat(),
        "key_id": key_id(key.public_key()),
    }
    signature = base64.b64encode(key.sign(_canonical(payload))).decode()
    line = json.dumps({**payload, "signature": signature}, sort_keys=True)
    return Checkpoint(row_id, row_hash, at, key_id(key.public_key()), line)


def parse(line: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """A checkpoint line, checked against `public_key`; CheckpointError says why it is not
    trusted."""
    try:
        record = json.loads(line)
        signature = base64.b64decode(record.pop("signature"), validate=True)
        payload = {k: record[k] for k in ("type", "row_id", "row_hash", "at", "key_id")}
        if payload["type"] != RECORD_TYPE or len(record) != len(payload):
            raise ValueError("not a checkpoint record")
        at = datetime.fromisoformat(payload["at"])
        row_id = int(payload["row_id"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"it is not a checkpoint record ({exc})") from None
    expected = key_id(public_key)
    if payload["key_id"] != expected:
        raise CheckpointError(
            f"it is signed with another key (key {payload['key_id']}, not {expected})"
        )
    try:
        public_key.verify(signature, _canonical(payload))
    except InvalidSignature:
        raise CheckpointError("it was edited: its signature does not match its content") from None
    return Checkpoint(row_id, str(payload["row_hash"]), at, str(payload["key_id"]), line.strip())


# --- writing ---------------------------------------------------------------------------------


def _write_file(path: str, line: str) -> None:
    # Append-only, flushed to disk before the checkpoint counts as written.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_s3(url: str, checkpoint: Checkpoint) -> None:
    parsed = urlparse(url)
    prefix = parsed.path.strip("/")
    name = f"{checkpoint.row_id:012d}-{checkpoint.at.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    aws.put_locked_object(
        bucket=parsed.netloc,
        key=f"{prefix}/{name}" if prefix else name,
        body=(checkpoint.line + "\n").encode(),
        mode=settings.HISTORY_CHECKPOINT_S3_LOCK_MODE,
        retain_until=checkpoint.at + timedelta(days=settings.HISTORY_CHECKPOINT_S3_RETAIN_DAYS),
        region=settings.HISTORY_CHECKPOINT_S3_REGION,
    )


def write_to(destination: str, checkpoint: Checkpoint) -> None:
    """One destination: ``file:/path`` (or a bare path), ``stdout``, or ``s3://bucket/prefix``."""
    if destination == "stdout":
        sys.stdout.write(checkpoint.line + "\n")
        sys.stdout.flush()
    elif destination.startswith("s3://"):
        _write_s3(destination, checkpoint)
    else:
        _write_file(destination.removeprefix("file:"), checkpoint.line)


def checkpoint_write() -> Checkpoint | None:
    """Sign the chain head and write it to every destination, then keep a copy in the database
    for the audit page and evidence packs. None when no signing key is configured.

    A destination that fails raises after the others were written: the next run writes a new
    checkpoint anyway, and the failure shows in the worker's log and the page's warning."""
    key = load_private_key()
    if key is None:
        return None
    head = HistoryHead.objects.filter(pk=1).first()
    row_id, row_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    checkpoint = sign(key, row_id, row_hash, timezone.now())
    failures: list[str] = []
    for destination in settings.HISTORY_CHECKPOINT_DESTINATIONS:
        try:
            write_to(destination, checkpoint)
        except (OSError, aws.AwsError) as exc:
            failures.append(f"{destination}: {exc}")
    HistoryCheckpoint.objects.create(
        row_id=checkpoint.row_id,
        row_hash=checkpoint.row_hash,
        created_at=checkpoint.at,
        key_id=checkpoint.key_id,
        record=checkpoint.line,
    )
    if failures:
        raise CheckpointError("checkpoint not written to " + "; ".join(failures))
    return checkpoint


def is_overdue(latest: HistoryCheckpoint | None, now: datetime | None = None) -> bool:
    """Older than two intervals (or none at all): the page warns."""
    if latest is None:
        return True
    age = (now or timezone.now()) - latest.created_at
    return age > timedelta(seconds=2 * settings.HISTORY_CHECKPOINT_SECONDS)


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing wrong: a checkpoint not to be trusted, or the chain not matching one."""

    kind: str  # "untrusted", "rewritten", "truncated"
    message: str


def read_lines(
    lines: Iterable[str], public_key: Ed25519PublicKey
) -> tuple[list[Checkpoint], list[Finding]]:
    """The trusted checkpoints of a file's lines, and a finding for each line that is not."""
    good: list[Checkpoint] = []
    bad: list[Finding] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            good.append(parse(line, public_key))
        except CheckpointError as exc:
            bad.append(Finding("untrusted", f"checkpoint on line {number} is not trusted: {exc}"))
    return good, bad


def check_chain(checkpoints: list[Checkpoint]) -> list[Finding]:
    """Does the chain in the database still hold each checkpoint's row with its hash? The
    first checkpoint it does not hold is reported, with the last one it still holds: the
    rewrite began after that one. One query per 1,000 checkpoints."""
    ordered = sorted(checkpoints, key=lambda c: (c.row_id, c.at))
    wanted = sorted({c.row_id for c in ordered if c.row_id > 0})
    hashes: dict[int, str] = {}
    for start in range(0, len(wanted), 1000):
        hashes.update(
            HistoryEvent.objects.filter(id__in=wanted[start : start + 1000]).values_list(
                "id", "row_hash"
            )
        )
    last = HistoryEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    good: Checkpoint | None = None
    for checkpoint in ordered:
        when = checkpoint.at.isoformat(timespec="seconds")
        after = (
            f"the last checkpoint that still holds is row {good.row_id} "
            f"({good.at.isoformat(timespec='seconds')})"
            if good
            else "no earlier checkpoint holds"
        )
        first_bad = good.row_id + 1 if good else 1
        if checkpoint.row_id == 0:
            continue
        if checkpoint.row_id > last:
            return [
                Finding(
                    "truncated",
                    f"the history was cut short: the checkpoint of {when} covers row "
                    f"{checkpoint.row_id}, the history now ends at row {last} (rows "
                    f"{last + 1}-{checkpoint.row_id} removed); {after}",
                )
            ]
        if hashes.get(checkpoint.row_id) != checkpoint.row_hash:
            where = (
                f"row {first_bad}"
                if first_bad == checkpoint.row_id
                else f"one of rows {first_bad} to {checkpoint.row_id}"
            )
            return [
                Finding(
                    "rewritten",
                    f"row {checkpoint.row_id} no longer matches the checkpoint of {when}: the "
                    f"chain was rewritten from {where} on; {after}",
                )
            ]
        good = checkpoint
    return []
