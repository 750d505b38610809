"""Check an evidence pack offline: python verify.py [PACK] [--key-id KEY_ID]

PACK is the pack's ZIP or the folder it was unzipped to; without one it checks the folder this
script is in, so ``python verify.py`` works in the unzipped pack.

Needs Python 3.11+ and the `cryptography` package, nothing else (not the console, not its
database). It checks, and says which check failed:

1. manifest.json is signed (manifest.sig) by the key in public-key.pem; pass --key-id with the
   key id the console's README or `manage.py history_key` shows, so a pack re-signed with
   another key is refused too;
2. every file in the pack has the SHA-256 the manifest lists, and no file is missing or extra;
3. both checkpoints (checkpoints/start.json and end.json) are signed by the same key;
4. chain.jsonl runs from the start checkpoint's row to the end checkpoint's row without a gap:
   every row's previous hash is the row before it's hash, every full row's hash is recomputed
   from its content, and the last row's hash is the end checkpoint's;
5. every row of history.jsonl (the period's rows) is in the chain, unchanged;
6. every change of changes.json is what was approved: its review hash is recomputed from the
   documents in the pack (changes/<id>/base.json and proposed.json, hashed as the console's
   document core hashes them) and the change's proposed tags, and it must equal the hash every
   standing decision of the change binds (in changes.json, and in the period's approved and
   rejected rows of the chain, which must also point at the proposed version in the pack).

Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
#: The columns a row's hash covers (frameworks/history.py, canonical()).
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
    "details",
    "correlation_id",
    "schema_version",
    "prev_hash",
]
CHECKPOINT_FIELDS = ("type", "row_id", "row_hash", "at", "key_id")
#: The versions of the document core's hashes (frameworks/document/model.py HASH_VERSION and
#: frameworks/document/tags.py TAGS_HASH_VERSION); tests check these functions give the same.
HASH_VERSION = 1
TAGS_HASH_VERSION = 1
#: Rows after which a change's earlier decisions no longer stand (they were dismissed).
DECISIONS_RESET = ("reopened", "rebased", "approval_dismissed", "draft_saved")
DECISIONS = ("approved", "rejected")


class Failed(Exception):
    pass


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def row_hash(row: dict[str, Any]) -> str:
    content = {name: row[name] for name in HASHED}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(doc: dict[str, Any]) -> str:
    """The content hash of a stored document version (already normalised: the console stores
    versions in their canonical form, so they are hashed as they stand)."""
    canonical = {
        "v": HASH_VERSION,
        "description": doc.get("FrameworkDescription"),
        "controls": doc.get("FrameworkControls", []),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tags_hash(tags: dict[str, str]) -> str:
    text = json.dumps(
        {"v": TAGS_HASH_VERSION, "tags": dict(sorted(tags.items()))},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def review_hash(content: str, tags: dict[str, str] | None) -> str:
    """What an approval binds: the content hash, and the proposed tags when there are any."""
    if tags is None:
        return content
    text = f"review:v{TAGS_HASH_VERSION}:{content}:{tags_hash(tags)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _short(value: str | None) -> str:
    return value[:12] if value else "nothing"


def _document_hash(pack: Pack, change: dict[str, Any], label: str) -> str | None:
    """The recomputed content hash of the change's base or proposed document (None: none),
    checked against the hash changes.json names for it."""
    name = (change.get("documents") or {}).get(label)
    listed = change.get(f"{label}_hash")
    if name is None:
        if listed is not None:
            raise Failed(f"change #{change['id']}: its {label} document is not in the pack")
        return None
    try:
        recomputed = content_hash(json.loads(pack.read(name)))
    except (KeyError, ValueError, AttributeError) as exc:
        raise Failed(
            f"change #{change['id']}: {name} is not a framework document ({exc})"
        ) from None
    if recomputed != listed:
        raise Failed(
            f"change #{change['id']}: {name} hashes to {_short(recomputed)}, not to the "
            f"{label} {_short(listed)} the change names: the document was altered"
        )
    return recomputed


def check_change(pack: Pack, change: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    """Recompute one change's review hash from its documents and tags; it must be what every
    standing decision bound. `rows`: the change's rows of the period, in order. The review
    hash, or None for a draft that never had a readable proposal."""
    number = change["id"]
    base = _document_hash(pack, change, "base")
    proposed = _document_hash(pack, change, "proposed")
    if change["kind"] == "delete":
        review = base
    else:
        review = review_hash(proposed, change.get("proposed_tags")) if proposed else None
    if review != change.get("review_hash"):
        raise Failed(
            f"change #{number}: its documents and tags hash to {_short(review)}, not to the "
            f"review hash {_short(change.get('review_hash'))} it lists"
        )
    for decision in change.get("approvals", []):
        if decision.get("dismissed_at") is None and decision["content_hash"] != review:
            raise Failed(
                f"change #{number}: {decision['reviewer']} decided ({decision['decision']}) on "
                f"{_short(decision['content_hash'])}, but the change's documents and tags in the "
                f"pack hash to {_short(review)}: they are not what was approved"
            )
    standing: list[dict[str, Any]] = []
    for row in rows:
        if row["event"] in DECISIONS_RESET:
            standing = []
        elif row["event"] in DECISIONS:
            standing.append(row)
    for row in standing:
        bound = (row.get("details") or {}).get("content_hash")
        if bound != review:
            raise Failed(
                f"change #{number}: history row {row['id']} ({row['event']}) bound "
                f"{_short(bound)}, but the change's documents and tags in the pack hash to "
                f"{_short(review)}: they are not what was approved"
            )
        if change["kind"] != "delete" and row["version_after_id"] != change.get(
            "proposed_version_id"
        ):
            raise Failed(
                f"change #{number}: history row {row['id']} ({row['event']}) is about version "
                f"{row['version_after_id']}, not the proposed version "
                f"{change.get('proposed_version_id')} in the pack"
            )
    return review


def checkpoint(text: str, key: Ed25519PublicKey, name: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
        signature = base64.b64decode(record.pop("signature"), validate=True)
        payload = {k: record[k] for k in CHECKPOINT_FIELDS}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Failed(f"{name} is not a checkpoint record ({exc})") from None
    if payload["key_id"] != key_id(key):
        raise Failed(f"{name} is signed with another key ({payload['key_id']})")
    try:
        key.verify(signature, _canonical(payload))
    except InvalidSignature:
        raise Failed(f"{name} was edited: its signature does not match") from None
    return payload


class Pack(Protocol):
    """What the checks read: a ZipFile, or an unzipped pack's folder."""

    def namelist(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def open(self, name: str) -> IO[bytes]: ...


class Folder:
    """An unzipped pack: its files by their names in the zip (folders joined by /). Every file
    below the folder counts, so one that is not in the manifest fails as it would in the zip."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def namelist(self) -> list[str]:
        names = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(n for n in names if "__pycache__/" not in n)

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def open(self, name: str) -> IO[bytes]:
        return (self.root / name).open("rb")


@contextmanager
def opened(path: str) -> Iterator[Pack]:
    if Path(path).is_dir():
        yield Folder(Path(path))
        return
    with zipfile.ZipFile(path) as pack:
        yield pack


def verify(path: str, expected_key_id: str | None = None) -> list[str]:
    """Every check in order; the lines of a report. Raises Failed at the first that fails."""
    report = []
    with opened(path) as pack:
        names = set(pack.namelist())
        for needed in ("manifest.json", "manifest.sig", "public-key.pem"):
            if needed not in names:
                raise Failed(f"the pack has no {needed}")
        key = serialization.load_pem_public_key(pack.read("public-key.pem"))
        if not isinstance(key, Ed25519PublicKey):
            raise Failed("public-key.pem is not an Ed25519 key")
        if expected_key_id and key_id(key) != expected_key_id:
            raise Failed(f"the pack is signed with key {key_id(key)}, not {expected_key_id}")
        manifest_bytes = pack.read("manifest.json")
        try:
            key.verify(base64.b64decode(pack.read("manifest.sig")), manifest_bytes)
        except InvalidSignature:
            raise Failed("manifest.json was edited: its signature does not match") from None
        report.append(f"manifest signed by key {key_id(key)}")
        manifest = json.loads(manifest_bytes)
        listed = manifest["files"]
        unsigned = {"manifest.json", "manifest.sig", "public-key.pem"}
        for name in sorted(names - unsigned - set(listed)):
            raise Failed(f"{name} is in the pack but not in the manifest")
        for name, digest in sorted(listed.items()):
            if name not in names:
                raise Failed(f"{name} is in the manifest but missing from the pack")
            if hashlib.sha256(pack.read(name)).hexdigest() != digest:
                raise Failed(f"{name} was altered: its SHA-256 is not the manifest's")
        report.append(f"{len(listed)} files match the manifest")

        start = checkpoint(
            pack.read("checkpoints/start.json").decode(), key, "the start checkpoint"
        )
        end = checkpoint(pack.read("checkpoints/end.json").decode(), key, "the end checkpoint")
        report.append(
            f"checkpoints signed: row {start['row_id']} ({start['at']}) and row "
            f"{end['row_id']} ({end['at']})"
        )

        expected_id, prev = start["row_id"] + 1, start["row_hash"]
        full: dict[int, str] = {}
        with pack.open("chain.jsonl") as chain:
            for number, line in enumerate(chain, start=1):
                row = json.loads(line)
                if row["id"] != expected_id:
                    raise Failed(
                        f"chain.jsonl line {number}: row {row['id']} where row {expected_id} "
                        "should be (a row was left out or added)"
                    )
                if row["prev_hash"] != prev:
                    raise Failed(
                        f"chain.jsonl line {number}: row {row['id']} is not chained to row "
                        f"{expected_id - 1}"
                    )
                if "event" in row:
                    if row_hash(row) != row["row_hash"]:
                        raise Failed(
                            f"row {row['id']} was altered: its content no longer matches its hash"
                        )
                    full[row["id"]] = row["row_hash"]
                expected_id, prev = row["id"] + 1, row["row_hash"]
        if expected_id - 1 != end["row_id"] or prev != end["row_hash"]:
            raise Failed(
                f"the chain ends at row {expected_id - 1}, not at the end checkpoint's row "
                f"{end['row_id']} with its hash"
            )
        report.append(
            f"chain holds from row {start['row_id'] + 1} to {end['row_id']} "
            f"({len(full)} rows in full)"
        )

        count = 0
        by_change: dict[int, list[dict[str, Any]]] = {}
        with pack.open("history.jsonl") as period:
            for line in period:
                row = json.loads(line)
                if full.get(row["id"]) != row["row_hash"] or row_hash(row) != row["row_hash"]:
                    raise Failed(f"history.jsonl row {row['id']} is not the chain's row")
                if row.get("change_request_id") is not None and row["event"] in (
                    DECISIONS + DECISIONS_RESET
                ):
                    by_change.setdefault(row["change_request_id"], []).append(row)
                count += 1
        report.append(f"{count} rows of the period are in the chain, unchanged")

        changes = json.loads(pack.read("changes.json"))
        for change in changes:
            check_change(pack, change, by_change.get(change["id"], []))
        report.append(
            f"{len(changes)} change{'s' if len(changes) != 1 else ''}: each review hash "
            "recomputed from its documents and tags is what was approved"
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an evidence pack offline.")
    parser.add_argument(
        "pack",
        nargs="?",
        default=str(Path(__file__).resolve().parent),
        help="the pack's ZIP, or the folder it was unzipped to (default: this script's folder)",
    )
    parser.add_argument("--key-id", help="the key id the pack must be signed with")
    args = parser.parse_args(argv)
    try:
        for line in verify(args.pack, args.key_id):
            print(f"ok: {line}")
    except (Failed, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        print(f"FAILED: {exc}")
        return 1
    print("The pack is intact.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
