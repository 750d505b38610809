"""What AWS holds, and what it means for a change: the one place that reads a DescribeFramework
answer, and that recognises a write of ours that already landed.

Sync, the reconciler and the apply worker all find the live document; whichever finds it first
must reach the same verdict, or a change that AWS applied ends *stale* (sync got there before
the worker) or *failed* (the worker could not read it). ``verdict`` is that verdict.

How a landed write is recognised: AWS holds the approved document (by content hash) and
DescribeFramework echoes this change's ``IdempotencyToken`` (AWS documents the field in the
answer; the emulator echoes the last token a create or update sent). An answer without a token
(an older API, or a framework last written without one) falls back to the hash alone. A
DeleteFramework has no token: a framework gone (or being deleted) counts as our delete only if
the change's history holds a "request sent" row for it; gone without one is drift.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from frameworks import document
from frameworks.document import Document
from frameworks.models import ChangeKind, ChangeRequest, Event, Framework, HistoryEvent

log = logging.getLogger(__name__)

# What ``verdict`` says of a change, given the live document.
APPLIED = "applied"  # our write landed and its deployment completed
FAILED = "failed"  # our write landed and its deployment failed
DEPLOYING = "deploying"  # our write landed and is still being deployed: keep polling
STALE = "stale"  # the live document is neither the base nor the approved one
SEND = "send"  # AWS holds the base: the write has not landed (yet)


def parse_answer(described: dict[str, Any]) -> document.Document | None:
    """The document in a DescribeFramework answer, or None if it cannot be read."""
    try:
        return document.parse(described)
    except document.DocumentError:
        # What AWS holds is what it holds: a mirror row is still worth having without a hash.
        log.warning("DescribeFramework answer for %s did not parse", described.get("FrameworkName"))
        return None


def mirror_values(
    answer: dict[str, Any], parsed: document.Document | None, now: datetime, *, digest: str = ""
) -> dict[str, Any]:
    """The mirror columns for one DescribeFramework answer (`digest`: its hash, if known). Tags
    are ListTags', added to the answer as ``FrameworkTags`` by whoever read them (``None``:
    could not be read); an answer without that member leaves the mirror's tags as they are."""
    values: dict[str, Any] = {
        "arn": answer.get("FrameworkArn", ""),
        "description": answer.get("FrameworkDescription") or "",
        "controls": answer.get("FrameworkControls") or [],
        "content_hash": digest or (document.content_hash(parsed) if parsed else ""),
        "deployment_status": answer.get("DeploymentStatus", ""),
        "framework_status": answer.get("FrameworkStatus", ""),
        "idempotency_token": answer.get("IdempotencyToken") or "",
        "creation_time": answer.get("CreationTime"),
        "last_synced_at": now,
        "present": True,
        "gone_since": None,
    }
    if "FrameworkTags" in answer:
        tags = answer["FrameworkTags"]
        values["tags"] = dict(tags) if isinstance(tags, dict) else None
    return values


def mirror_document(framework: Framework) -> document.Document | None:
    """The document the mirror holds for a present framework (None if gone or unreadable)."""
    if not framework.present:
        return None
    try:
        return document.parse(framework.api_document())
    except document.DocumentError:
        return None


def is_stale(change: ChangeRequest, live: document.Document | None) -> bool:
    """Whether the live document moved away from what `change` was reviewed against: its
    content, and, for a change of the tags, its tags (when both are known; the state between
    the two tag calls of this change's own apply is not "moved")."""
    if change.kind == ChangeKind.CREATE:
        return live is not None
    if live is None:
        return True
    if change.base_hash != document.content_hash(live):
        return True
    if change.changes_tags and change.base_tags is not None and live.tags is not None:
        return not document.tags_on_the_way(change.base_tags, change.proposed_tags or {}, live.tags)
    return False


def idempotency_token(change: ChangeRequest) -> str:
    """The IdempotencyToken of `change`: the same across retries, redeliveries and reconciler
    runs; different for another change with an identical document (the id) and after a rebase
    (the base and approved hashes). DescribeFramework echoes it, which is how whoever reads the
    framework next knows that the call landed."""
    base = change.base_hash or "-"
    approved = change.proposed_hash or "-"
    digest = hashlib.sha256(f"{change.pk}:{base}:{approved}".encode()).hexdigest()[:32]
    return f"change-{change.pk}-{digest}"


def deployment_state(status: str | None) -> str:
    """ "running", "failed" or "done" for a DeploymentStatus, read defensively: AWS's own samples
    show "Active" where the API documents COMPLETED."""
    value = (status or "").strip().upper()
    if value.endswith("IN_PROGRESS"):
        return "running"
    if value == "FAILED":
        return "failed"
    return "done"


@dataclass(frozen=True)
class Live:
    """One DescribeFramework answer (None: AWS has no framework of that name), parsed and hashed
    at most once however often it is asked."""

    answer: dict[str, Any] | None

    @property
    def exists(self) -> bool:
        return self.answer is not None

    @cached_property
    def document(self) -> document.Document | None:
        return parse_answer(self.answer) if self.answer is not None else None

    @cached_property
    def hash(self) -> str | None:
        doc = self.document
        return document.content_hash(doc) if doc is not None else None

    @property
    def token(self) -> str:
        return (self.answer or {}).get("IdempotencyToken") or ""

    @property
    def status(self) -> str:
        return (self.answer or {}).get("DeploymentStatus") or ""

    @property
    def framework_status(self) -> str:
        return (self.answer or {}).get("FrameworkStatus") or ""

    @property
    def running(self) -> bool:
        return self.exists and deployment_state(self.status) == "running"

    @classmethod
    def parsed(
        cls, answer: dict[str, Any] | None, doc: Document | None, digest: str | None
    ) -> Live:
        """An answer someone already parsed and hashed (sync does, for the mirror)."""
        live = cls(answer)
        live.__dict__["document"] = doc
        live.__dict__["hash"] = digest
        return live


def expected_hashes(change: ChangeRequest, live: Live) -> set[str | None]:
    """What AWS holds once `change` landed: the approved document, or, when that has no
    description (UpdateFramework cannot send a blank one), the approved document with the
    description AWS kept."""
    expected: set[str | None] = {change.proposed_hash}
    doc = live.document
    if (
        doc is not None
        and doc.description
        and live.hash != change.proposed_hash
        and change.proposed_version is not None
    ):
        approved = change.proposed_version.as_document()
        if approved.description is None:
            approved.description = doc.description
            expected.add(document.content_hash(approved))
    return expected


def landed(change: ChangeRequest, live: Live, *, sent: bool, token: str | None = None) -> bool:
    """Whether AWS holds what `change` asks for because a write of this change landed. `sent`:
    the change's history holds a "request sent" row (only a delete needs it); `token`: the
    change's, if the caller has it already."""
    if change.kind == ChangeKind.DELETE:
        return sent and (not live.exists or live.status.upper() == "DELETE_IN_PROGRESS")
    if change.tags_only:
        # Only the tags change: no UpdateFramework, so no token; the document step is done as
        # it is (whether the tags are is for ``verdict``).
        return live.exists and live.hash == change.proposed_hash
    return (
        live.exists
        and live.token in (token or idempotency_token(change), "")
        and live.hash in expected_hashes(change, live)
    )


def verdict(change: ChangeRequest, live: Live, *, sent: bool, token: str | None = None) -> str:
    """What the live document says of an approved, applying or unconfirmed change: one of
    APPLIED, FAILED, DEPLOYING (our write landed), STALE or SEND."""
    if landed(change, live, sent=sent, token=token):
        if change.kind == ChangeKind.DELETE:
            return DEPLOYING if live.exists else APPLIED
        state = deployment_state(live.status)
        if change.tags_only and state != "running":
            state = "done"  # the last deployment is not this change's to judge
        if state == "done" and change.changes_tags and not tags_match(change, live):
            # The document landed; the tags are still the worker's to set (or unknown here).
            return DEPLOYING
        return {"running": DEPLOYING, "failed": FAILED}.get(state, APPLIED)
    if change.kind == ChangeKind.CREATE:
        return STALE if live.exists else SEND
    if not live.exists:
        return STALE
    if live.hash == change.base_hash or live.hash in expected_hashes(change, live):
        return SEND
    # Neither the base nor (with our token) the approved document: someone else wrote it.
    return STALE


def tags_match(change: ChangeRequest, live: Live) -> bool:
    """Whether the live tags (ListTags', when the reader added them) are the proposed ones."""
    tags = live.document.tags if live.document is not None else None
    return tags is not None and dict(tags) == dict(change.proposed_tags or {})


def delete_sent(change_ids: Iterable[int]) -> set[int]:
    """The changes among `change_ids` whose history holds a "request sent" row (one query)."""
    ids = list(change_ids)
    if not ids:
        return set()
    return set(
        HistoryEvent.objects.filter(change_request_id__in=ids, event=Event.ATTEMPT_STARTED)
        .values_list("change_request_id", flat=True)
        .distinct()
    )
