"""What an approval proves, and the worker's check that it sends only what was approved.

Each approval carries a MAC (``Approval.mac``) over what it says: the change (its id, target,
framework, kind and base, so a change row repointed elsewhere leaves it behind), the review hash
the reviewer approved (``Approval.content_hash``: the proposal's content hash, bound to its
tags when the change proposes tags; see ``document.review_hash``), the decision, the approver
(user id and name) and the time. The key comes from the environment (``APPROVAL_MAC_KEY``, or
when that is empty a key derived from ``SECRET_KEY`` by Django's ``salted_hmac``) and is never
stored in the database, so someone holding only the database credentials can neither write an
approval that counts nor move one to another change, hash or person.

Before every write to AWS, the worker recomputes the review hash from exactly the document and
tags it is about to send and calls ``check_request``: unless enough approvals whose MACs
verify approved that hash, nothing is sent (``NotApproved``). Which approvals count is decided
in one place, ``counting_approvals``: MACs that verify, then the four-eyes rule of access
changes (``frameworks.segregation``), so a forged approval and a puppet's cannot make up the
number between them.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from frameworks import document, segregation
from frameworks.models import (
    Approval,
    ChangeKind,
    ChangeRequest,
    Decision,
    Event,
    HistoryEvent,
    TamperedVersion,
)

#: The salt of the MAC, so the key serves no other purpose even when it is SECRET_KEY.
MAC_SALT = "frameworks.approvals.mac"
MAC_VERSION = 1

#: What a refused request says, on the change page and in the history.
NOT_APPROVED_WORDS = "What would have been sent is not what was approved"


class NotApproved(Exception):
    """What the worker was about to send is not covered by enough approvals that verify."""

    def __init__(
        self,
        message: str,
        *,
        sent_hash: str,
        approved_hashes: list[str],
        counted: int,
        required: int,
        rejected: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sent_hash = sent_hash
        self.approved_hashes = approved_hashes
        self.counted = counted
        self.required = required
        self.rejected = rejected or []

    def details(self) -> dict[str, Any]:
        return {
            "words": f"{NOT_APPROVED_WORDS}: {self.message}",
            "sent_hash": self.sent_hash,
            "approved_hashes": self.approved_hashes,
            "approvals_counted": self.counted,
            "required_approvals": self.required,
            "approvals_not_counted": self.rejected,
        }


# --- the MAC --------------------------------------------------------------------------------


def _keys() -> list[str]:
    """The key that signs, then any older ones that still verify (Django's SECRET_KEY rotation
    when no key of its own is set)."""
    own = getattr(settings, "APPROVAL_MAC_KEY", "")
    if own:
        return [own]
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def _moment(at: datetime) -> str:
    # The same text whatever zone the database hands the time back in.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def mac_message(
    *,
    change_id: int,
    target_id: int,
    framework_name: str,
    kind: str,
    base_hash: str | None,
    content_hash: str,
    decision: str,
    reviewer_key: int | None,
    reviewer_name: str,
    created_at: datetime,
) -> str:
    fields = [
        f"approval:v{MAC_VERSION}",
        str(change_id),
        # What the change is about, as it was when the reviewer decided: a change row pointed
        # at another framework, or rebased in the database, leaves its approvals behind.
        str(target_id),
        framework_name,
        kind,
        base_hash or "",
        content_hash,
        decision,
        "" if reviewer_key is None else str(reviewer_key),
        reviewer_name,
        _moment(created_at),
    ]
    # A separator no field holds (the database cannot store NUL in any of them).
    return "\x00".join(fields)


def compute_mac(key: str | None = None, **fields: Any) -> str:
    """The MAC of an approval with these fields (``mac_message``'s), under `key` (the signing
    key by default)."""
    return salted_hmac(
        MAC_SALT, mac_message(**fields), secret=key or _keys()[0], algorithm="sha256"
    ).hexdigest()


def _fields(approval: Approval, change: ChangeRequest | None) -> dict[str, Any]:
    change = change if change is not None else approval.change_request
    return {
        "change_id": approval.change_request_id,
        "target_id": change.target_id,
        "framework_name": change.framework_name,
        "kind": change.kind,
        "base_hash": change.base_hash,
        "content_hash": approval.content_hash,
        "decision": approval.decision,
        "reviewer_key": approval.reviewer_key,
        "reviewer_name": approval.reviewer_name,
        "created_at": approval.created_at,
    }


def sign(approval: Approval, change: ChangeRequest) -> str:
    """The MAC for a decision about to be stored on `change` (its fields all set)."""
    return compute_mac(**_fields(approval, change))


def verifies(approval: Approval, change: ChangeRequest | None = None) -> bool:
    """Whether the approval's MAC is the one the key gives for what it says, about `change`
    as it stands (its change by default)."""
    if not approval.mac:
        return False
    if change is not None and change.pk != approval.change_request_id:
        return False
    fields = _fields(approval, change)
    return any(
        hmac.compare_digest(approval.mac, compute_mac(key, **fields)) for key in _keys() if key
    )


# --- which approvals count ------------------------------------------------------------------


@dataclass
class Count:
    """The approvals of one hash that count, and the ones set aside with the reason why."""

    counted: list[Approval] = field(default_factory=list)
    set_aside: list[tuple[Approval, str]] = field(default_factory=list)


def _approver(approval: Approval) -> object:
    """Who gave an approval, as its MAC says (the user id; the name for a user id unknown)."""
    if approval.reviewer_key is not None:
        return approval.reviewer_key
    return f"name:{approval.reviewer_name}"


def counting_approvals(
    change: ChangeRequest, approved_hash: str, decisions: Iterable[Approval] | None = None
) -> Count:
    """The approvals of `change` that count for `approved_hash`: not dismissed, decisions to
    approve exactly that hash, whose MAC verifies, each approver's newest such once. An
    approver whose newest verified decision is something else (a rejection, another hash)
    counts for nothing. `decisions` are the change's rows when the caller has them."""
    rows = decisions if decisions is not None else change.approvals.all()
    result = Count()
    newest: dict[object, Approval] = {}
    for approval in sorted(rows, key=lambda a: a.pk, reverse=True):
        if approval.change_request_id != change.pk or approval.dismissed_at is not None:
            continue
        if not verifies(approval, change):
            if approval.decision == Decision.APPROVE and approval.content_hash == approved_hash:
                result.set_aside.append((approval, "its MAC does not verify"))
            continue
        newest.setdefault(_approver(approval), approval)
    candidates = []
    for approval in newest.values():
        why = why_not_counted(change, approval, approved_hash)
        if why is None:
            candidates.append(approval)
        elif approval.content_hash == approved_hash:
            result.set_aside.append((approval, why))
    # Segregation of duties: an approval whose approver's and author's standing one person set
    # up without a second administrator confirming it does not count (frameworks.segregation).
    for verdict in segregation.verdicts(change, candidates):
        if verdict.counts:
            result.counted.append(verdict.approval)
        else:
            result.set_aside.append((verdict.approval, verdict.reason))
    result.counted.sort(key=lambda a: a.pk)
    result.set_aside.sort(key=lambda pair: pair[0].pk)
    return result


def why_not_counted(change: ChangeRequest, approval: Approval, approved_hash: str) -> str | None:
    """Why an approver's newest verified decision on `change` does not count for
    `approved_hash`, in words; None when it counts. A further rule about whose approval may
    count is one more clause here."""
    if approval.decision != Decision.APPROVE:
        return "it is not an approval"
    if approval.content_hash != approved_hash:
        return "it approved other content"
    if approval.reviewer_key is not None and approval.reviewer_key == change.author_id:
        return "its approver wrote the change"
    return None


def required_approvals(change: ChangeRequest) -> int:
    """The approvals a change needs: the number it was submitted with or the target's now,
    whichever is more (neither row is signed, so lowering one alone gains nothing)."""
    return max(change.required_approvals, change.target.required_approvals, 1)


# --- the check before a call ----------------------------------------------------------------


def request_hash(doc: document.Document, tags: Mapping[str, str] | None) -> str:
    """The review hash of what a request sends: the document's content hash, bound to the
    tags when the change sends tags."""
    return document.review_hash(
        document.content_hash(doc), dict(tags) if tags is not None else None
    )


def document_of_request(kwargs: Mapping[str, Any]) -> document.Document:
    """The framework document an UpdateFramework or CreateFramework call carries."""
    return document.parse(
        {k: v for k, v in kwargs.items() if k in ("FrameworkDescription", "FrameworkControls")}
    )


def check_request(
    change: ChangeRequest, doc: document.Document, tags: Mapping[str, str] | None
) -> list[Approval]:
    """Refuse (``NotApproved``) unless the review hash of `doc` with `tags` (exactly what is
    about to be sent; for a delete, the document it deletes) was approved by enough
    approvals that count. Returns those approvals."""
    sent = request_hash(doc, tags)
    needed = required_approvals(change)
    count = counting_approvals(change, sent)
    if len(count.counted) >= needed:
        return count.counted
    approved = sorted(
        {a.content_hash for a in change.approvals.all() if a.decision == Decision.APPROVE}
    )
    if sent not in approved:
        why = f"no approval of this change is for the content it would send ({sent[:12]})."
    else:
        why = (
            f"it needs {needed} approval{'s' if needed != 1 else ''} that verify, and "
            f"{len(count.counted)} do."
        )
    raise NotApproved(
        why,
        sent_hash=sent,
        approved_hashes=approved,
        counted=len(count.counted),
        required=needed,
        rejected=[{"approval_id": a.pk, "reason": reason} for a, reason in count.set_aside],
    )


def what_is_sent(
    change: ChangeRequest, operation: str, kwargs: Mapping[str, Any]
) -> tuple[document.Document, Mapping[str, str] | None]:
    """(document, tags) of the one document write the worker sends for `change`: what the
    call carries, and the tags the change sends afterwards (an update's tags are separate
    calls, bound to the same approvals). A delete sends only a name: it is checked against
    the document it deletes, the change's base."""
    if change.kind == ChangeKind.DELETE or operation == "DeleteFramework":
        assert change.base_version is not None
        return change.base_version.as_document(), None
    doc = document_of_request(kwargs)
    if operation == "CreateFramework":
        return doc, kwargs.get("FrameworkTags")
    return doc, change.proposed_tags if change.changes_tags else None


def approvals_record(approvals: list[Approval]) -> list[dict[str, Any]]:
    """How a request row names the approvals it was sent on (``verify_history`` reads it)."""
    return [{"approval_id": a.pk, "reviewer": a.reviewer_name} for a in approvals]


# --- the history's requests, checked again (verify_history) ---------------------------------

#: The writes the worker sends: each is checked against the approvals before it leaves.
WRITES = ("UpdateFramework", "CreateFramework", "DeleteFramework", "TagResource", "UntagResource")


def _request_hash(change: ChangeRequest, request: Mapping[str, Any]) -> str:
    """The review hash of a recorded request, as the worker computed it before sending."""
    operation = request.get("operation")
    if operation in ("UpdateFramework", "CreateFramework"):
        doc, tags = what_is_sent(change, str(operation), request)
        return request_hash(doc, tags)
    if operation == "DeleteFramework":
        doc, tags = what_is_sent(change, "DeleteFramework", request)
        return request_hash(doc, tags)
    # A tag call: the approved document with the change's tags, and the call must be a step
    # towards exactly those tags.
    wanted = dict(change.proposed_tags or {})
    if operation == "TagResource":
        payload = request.get("Tags") or {}
        if not isinstance(payload, dict) or any(wanted.get(k) != v for k, v in payload.items()):
            return "tags the change does not propose"
    else:
        keys = request.get("TagKeyList") or []
        if not isinstance(keys, list) or any(k in wanted for k in keys):
            return "tag removals the change does not propose"
    assert change.proposed_version is not None
    return request_hash(change.proposed_version.as_document(), wanted)


def _named_problem(change: ChangeRequest, named: list[Any], sent: str) -> str | None:
    """What is wrong with the approvals a request row named (None: they count)."""
    by_id = {a.pk: a for a in change.approvals.all()}
    approvers: set[object] = set()
    for item in named:
        approval_id = item.get("approval_id") if isinstance(item, dict) else None
        approval = by_id.get(approval_id) if isinstance(approval_id, int) else None
        if approval is None:
            return f"approval {approval_id} that it names is not an approval of this change"
        if not verifies(approval):
            return (
                f"approval {approval.pk} ({approval.reviewer_name}) has a MAC that does not verify"
            )
        if approval.decision != Decision.APPROVE or approval.content_hash != sent:
            return (
                f"approval {approval.pk} ({approval.reviewer_name}) is for "
                f"{approval.content_hash[:12]}, not for what was sent"
            )
        approvers.add(_approver(approval))
    if len(approvers) < change.required_approvals:
        return (
            f"it names {len(approvers)} approval(s) that verify for what was sent, and the "
            f"change needed {change.required_approvals}"
        )
    return None


def request_problems() -> list[str]:
    """Each write request the history records (the "attempt started" row written just before
    it was sent), checked again: the hash of what was sent must be the hash its approvals
    approved, each of them with a MAC that verifies, enough of them. Rows from before requests
    named their approvals are checked against the change's approvals that count. One sentence
    per request that does not hold, naming the change."""
    rows = (
        HistoryEvent.objects.filter(event=Event.ATTEMPT_STARTED, change_request__isnull=False)
        .order_by("id")
        .only("id", "change_request_id", "details", "created_at")
    )
    writes = [
        r for r in rows.iterator() if (r.details.get("request") or {}).get("operation") in WRITES
    ]
    changes = ChangeRequest.objects.select_related(
        "target", "base_version", "proposed_version"
    ).prefetch_related("approvals")
    by_id = {c.pk: c for c in changes.filter(pk__in={r.change_request_id for r in writes})}
    problems = []
    for row in writes:
        change = by_id.get(row.change_request_id or 0)
        request = row.details.get("request") or {}
        what = f"the {request.get('operation')} request in history row {row.id}"
        if change is None:
            problems.append(f"Change #{row.change_request_id}: {what} names a change that is gone.")
            continue
        about = f"Change #{change.pk} ({change.framework_name} on {change.target.display_name})"
        try:
            sent = _request_hash(change, request)
        except TamperedVersion as tampered:
            problems.append(f"{about}: {what} cannot be checked: {tampered.message}")
            continue
        except document.DocumentError:
            problems.append(f"{about}: {what} does not hold a framework document.")
            continue
        if len(sent) != 64:  # a tag call that is no step towards the change's tags
            problems.append(f"{about}: {what} sent {sent}: it is not what was approved.")
            continue
        named = row.details.get("approvals")
        if isinstance(named, list):
            problem = _named_problem(change, named, sent)
        else:
            count = counting_approvals(change, sent, change.approvals.all())
            problem = (
                None
                if len(count.counted) >= change.required_approvals
                else f"{len(count.counted)} approval(s) that verify approved what was sent "
                f"({sent[:12]}), and the change needed {change.required_approvals}"
            )
        if problem:
            problems.append(f"{about}: {what} is not what was approved: {problem}.")
    return problems
