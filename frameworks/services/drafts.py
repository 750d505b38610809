"""Drafts: create, save, discard, rebase and start a change from another; open the editor on a
draft and check it. A draft is its author's alone until it is submitted (see ``review``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from frameworks import access, document, history
from frameworks.access import Action
from frameworks.models import (
    LIVE_EVENTS,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    DocumentVersion,
    Event,
    Framework,
    HistoryEvent,
    Target,
)
from frameworks.services.base import (
    Call,
    TransitionRefused,
    load_for_user,
    move,
    require,
    require_author,
    require_reason,
    require_state,
    service,
)
from frameworks.services.live import mirror_document

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def proposal_version(working: dict[str, Any]) -> DocumentVersion | None:
    """The version of a working document, or None while it cannot be read as a framework."""
    try:
        return DocumentVersion.record(document.parse(working))
    except document.DocumentError:
        return None


def live_version(call: Call, framework: Framework | None) -> DocumentVersion | None:
    """The version of what AWS holds now (None when the framework is not there)."""
    if framework is None or not framework.present:
        return None
    doc = mirror_document(framework)
    if doc is None:
        raise call.refuse(
            f"AWS holds a version of {framework.name} this console cannot read; fix it in AWS "
            "or sync again.",
            "unreadable",
        )
    return DocumentVersion.record(doc)


def _working(data: dict[str, Any] | None, name: str, kind: str) -> dict[str, Any]:
    """The working document as written, named after the change (AWS cannot rename)."""
    if kind == ChangeKind.DELETE:
        return {}
    working = dict(data or {})
    working["FrameworkName"] = name
    working.setdefault("FrameworkControls", [])
    return working


_UNSTORABLE = {
    "nul": "a NUL character",
    "surrogate": "an unpaired surrogate (such as \\ud800)",
}


def _require_storable(call: Call, *values: object) -> None:
    """Refuse what the database cannot keep (``document.unstorable``), from whichever caller."""
    problem = document.unstorable_in(list(values))
    if problem:
        raise call.refuse(
            f"The draft holds {_UNSTORABLE[problem]}, which cannot be stored.", "unstorable"
        )


def _check_name(call: Call, name: str) -> None:
    findings = document.validate(document.Document(name=name), require_name=True)
    problems = [f for f in findings if f.path == "name" and f.severity == document.ERROR]
    if problems:
        raise call.refuse(
            f"The framework name {problems[0].message}.", "bad_name", findings=problems
        )


# What the account checks need of each other framework, by the mirror's content hash (the
# content's own, as sync computes it), so the editor's check, run as a person types, parses
# each other framework once per process rather than on every keystroke. Bounded: cleared when
# full.
_NEIGHBOURS: dict[tuple[str, int], document.Neighbour | None] = {}
_NEIGHBOURS_KEPT = 1024


def _neighbour(framework: Framework) -> document.Neighbour | None:
    """What the account checks need of another framework the mirror holds (None: unreadable)."""
    if not framework.content_hash:  # not synced yet: nothing to key it by
        doc = mirror_document(framework)
        return document.Neighbour.of(doc) if doc is not None else None
    key = (framework.content_hash, len(framework.controls or ()))
    if key not in _NEIGHBOURS:
        if len(_NEIGHBOURS) >= _NEIGHBOURS_KEPT:
            _NEIGHBOURS.clear()
        doc = mirror_document(framework)
        _NEIGHBOURS[key] = document.Neighbour.of(doc) if doc is not None else None
    found = _NEIGHBOURS[key]
    return found.named(framework.name) if found is not None else None


def findings_for(change: ChangeRequest, doc: document.Document) -> list[document.Finding]:
    """Everything the validator and the account checks say about a proposal."""
    target = change.target
    is_new = change.kind == ChangeKind.CREATE
    others = [
        _neighbour(f)
        for f in Framework.objects.present()
        .filter(target=target)
        .exclude(name=change.framework_name)
    ]
    findings = document.validate(doc, require_name=is_new) + document.account_findings(
        doc,
        [other for other in others if other is not None],
        max_frameworks=target.max_frameworks,
        max_controls=target.max_controls,
        is_new=is_new,
    )
    if change.base_version is not None:
        findings += document.proposal_findings(change.base_version.as_document(), doc)
    recording = target.recording
    if recording is not None:
        findings += document.recording_findings(doc, recording, target.region)
    return findings


def findings_json(findings: list[document.Finding]) -> list[dict[str, str]]:
    return [
        {"path": f.path, "code": f.code, "severity": f.severity, "message": f.message}
        for f in findings
    ]


def kind_for(call: Call, kind: str, framework: Framework | None) -> str:
    """What a change to a framework in this state must be: an update of a framework that is
    there, a create of one that is not; a delete of one that is not there is refused."""
    present = framework is not None and framework.present
    if kind == ChangeKind.DELETE:
        if not present:
            raise call.refuse(
                f"{call.target} has no framework named {call.framework_name} to delete.",
                "no_framework",
            )
        return kind
    return ChangeKind.UPDATE if present else ChangeKind.CREATE


def new_draft(
    call: Call,
    *,
    kind: str,
    working: dict[str, Any] | None,
    reason: str = "",
    parent: ChangeRequest | None = None,
    details: dict[str, Any] | None = None,
) -> ChangeRequest:
    target, name = call.target, call.framework_name
    assert target is not None  # every caller names the target the draft is for
    framework = Framework.objects.filter(target=target, name=name).first()
    base = live_version(call, framework)
    if working is None and kind == ChangeKind.UPDATE:
        assert framework is not None  # kind_for() says update only for a framework AWS holds
        working = framework.api_document()
    working = _working(working, name, kind)
    change = ChangeRequest(
        kind=kind,
        target=target,
        framework_name=name,
        framework=framework if base else None,
        base_version=base,
        base_tags=framework.tags if base and framework else None,
        proposed_version=None if kind == ChangeKind.DELETE else proposal_version(working),
        working_document=working,
        author=call.user,
        author_name=call.person.get_username(),
        reason=reason,
        parent=parent,
    )
    change.proposal_fields()
    change.save(force_insert=True)
    history.append(
        Event.DRAFT_CREATED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=change.proposed_version,
        details={
            "kind": kind,
            "version": change.version,
            "parent": parent.pk if parent else None,
            **(details or {}),
        },
    )
    return change


@service
def change_request_create_draft(
    *,
    user: User,
    target_id: int,
    kind: str,
    framework_name: str,
    document: dict[str, Any] | None = None,
    reason: str = "",
) -> ChangeRequest:
    """An editor of the target opens a draft: an update or delete of a framework AWS holds, or
    a create of one it does not. A delete needs a reason. The draft starts from the live
    document (its base), which submit later checks is still live."""
    call = Call.for_user(user, "create_draft", framework_name=framework_name)
    call.target = Target.objects.filter(pk=target_id).first()
    if call.target is None:
        raise call.refuse(f"There is no target #{target_id}.", "not_found")
    require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")
    if kind not in ChangeKind.values:
        raise call.refuse(f"{kind!r} is not a kind of change.", "bad_kind")
    _require_storable(call, framework_name, document, reason)
    framework = Framework.objects.filter(target=call.target, name=framework_name).first()
    present = framework is not None and framework.present
    if kind == ChangeKind.UPDATE and not present:
        raise call.refuse(f"{call.target} has no framework named {framework_name}.", "no_framework")
    if kind == ChangeKind.CREATE and present:
        raise call.refuse(
            f"{call.target} already has a framework named {framework_name}; change it instead.",
            "exists",
        )
    if kind == ChangeKind.CREATE:
        _check_name(call, framework_name)
    if kind == ChangeKind.DELETE:
        reason = require_reason(call, reason, f"delete {framework_name}")
        kind_for(call, kind, framework)
    return new_draft(call, kind=kind, working=document, reason=reason)


@service
def change_request_save_draft(
    *,
    user: User,
    change_id: int,
    expected_version: int,
    document: dict[str, Any] | None = None,
    reason: str | None = None,
) -> ChangeRequest:
    """The author saves a draft. `expected_version` is the version the editor page loaded: a
    draft saved elsewhere since then is refused rather than silently overwritten. The document
    is kept as written; a version of it is recorded whenever it can be read."""
    call, change = load_for_user(user, "save_draft", change_id)
    guard_draft(call, change, "edit")
    if change.version != expected_version:
        raise call.refuse(
            f"This draft was saved elsewhere after you opened it (you had version "
            f"{expected_version}, it is now version {change.version}). Reload it and make "
            "your edits again.",
            "version_conflict",
        )
    _require_storable(call, document, reason)
    fields: dict[str, Any] = {}
    if document is not None and change.kind != ChangeKind.DELETE:
        fields["working_document"] = _working(document, change.framework_name, change.kind)
        fields["proposed_version"] = proposal_version(fields["working_document"])
        change.working_document = fields["working_document"]
        change.proposed_version = fields["proposed_version"]
        fields.update(change.proposal_fields())
    if reason is not None:
        fields["reason"] = reason.strip()
    move(call, change, expected_version=expected_version, **fields)
    history.append(
        Event.DRAFT_SAVED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=change.proposed_version,
        details={"version": change.version, "readable": change.proposed_version is not None},
    )
    return change


@service
def change_request_discard(*, user: User, change_id: int) -> ChangeRequest:
    """The author discards a draft: it ends withdrawn, kept for the record."""
    call, change = load_for_user(user, "discard", change_id)
    guard_draft(call, change, "discard")
    move(call, change, to=ChangeState.WITHDRAWN)
    history.append(Event.DRAFT_DISCARDED, call.actor, change_request=change)
    return change


def guard_start_from(call: Call, change: ChangeRequest) -> None:
    require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")
    if not change.is_final:
        raise call.refuse(
            f"This change is still {change.get_state_display().lower()}; a new change can start "
            "from it once it has ended.",
            "not_final",
        )


@service
def change_request_start_from(*, user: User, change_id: int) -> ChangeRequest:
    """An editor of the target opens a new draft from a change that has ended (applied,
    failed, rejected or withdrawn), with its document, based on what AWS holds now."""
    call, change = load_for_user(user, "start_from", change_id)
    guard_start_from(call, change)
    framework = Framework.objects.filter(target=change.target, name=change.framework_name).first()
    kind = kind_for(call, change.kind, framework)
    return new_draft(
        call, kind=kind, working=change.working_document, reason=change.reason, parent=change
    )


@service
def change_request_start_from_version(
    *, user: User, target_id: int, framework_name: str, row_id: int
) -> ChangeRequest:
    """An editor of the target opens a draft whose proposal is a document this framework had
    in AWS: the version that history row ``row_id`` saw (a sync or an apply of this
    framework). It is an update of the live framework back to that document, or a create of it
    again when the framework is gone from AWS; then the normal review. The draft leaves the
    tags alone (versions keep none). Its history row names the row it started from."""
    call = Call.for_user(user, "start_from_version", framework_name=framework_name)
    call.target = Target.objects.filter(pk=target_id).first()
    if call.target is None:
        raise call.refuse(f"There is no target #{target_id}.", "not_found")
    require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")
    row = (
        HistoryEvent.objects.filter(
            pk=row_id, target_id=target_id, framework_name=framework_name, event__in=LIVE_EVENTS
        )
        .select_related("version_after")
        .first()
    )
    if row is None:
        raise call.refuse(
            f"History row {row_id} is not a version of {framework_name}.", "not_found"
        )
    if row.version_after is None:
        raise call.refuse(
            f"History row {row_id} saw {framework_name} gone from AWS: there is no document "
            "to start from.",
            "no_document",
        )
    framework = Framework.objects.filter(target=call.target, name=framework_name).first()
    kind = kind_for(call, ChangeKind.UPDATE, framework)
    return new_draft(
        call,
        kind=kind,
        working=dict(row.version_after.document),
        details={"from_row": row.pk, "from_version": row.version_after.content_hash},
    )


def _require_draft_editor(call: Call, change: ChangeRequest, what: str) -> None:
    """The author, still an editor of the target, or an admin of the target, may `what` a
    draft."""
    if access.can(call.person, Action.MANAGE, call.target):
        return
    require_author(call, change, what)


def guard_draft(call: Call, change: ChangeRequest, what: str) -> None:
    """Who may edit or discard a draft (``what``), and only while it is one."""
    _require_draft_editor(call, change, what)
    require_state(call, change, ChangeState.DRAFT, what=what)


@service
def change_request_open_draft(
    *, user: User, change_id: int, documents: bool = True
) -> ChangeRequest:
    """Open a draft in the editor. Refused, and recorded as access denied, for anyone who may
    not edit it. An unknown id or a change that is no longer a draft is refused without a
    history row: nothing was attempted (the editor answers 404, or shows the change page).
    ``documents=False`` leaves the working and base documents to be read when first used
    (adding a row does not need 300 KB of JSON)."""
    changes = ChangeRequest.objects.select_related("target", "base_version")
    if not documents:
        changes = changes.defer("working_document", "base_version__document")
    change = changes.filter(pk=change_id).first()
    if change is None:
        raise TransitionRefused(f"There is no change request #{change_id}.", "not_found")
    call = Call.for_user(user, "open_draft", change=change, change_id=change_id)
    call.target, call.framework_name = change.target, change.framework_name
    require(call, Action.VIEW, "You have no role on this target.", "no_role")
    _require_draft_editor(call, change, "edit")
    if change.state != ChangeState.DRAFT:
        raise TransitionRefused(
            f"This change is {change.get_state_display().lower()}, no longer a draft: it "
            "cannot be edited.",
            "not_draft",
        )
    return change


@service
def change_request_check_editor(*, user: User, target_id: int, framework_name: str = "") -> None:
    """May this user propose changes to the target (open the new-framework or the deletion
    page)? Refused, and recorded as access denied, if not."""
    call = Call.for_user(user, "open_editor", framework_name=framework_name)
    call.target = Target.objects.filter(pk=target_id).first()
    require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")


def change_request_findings(
    change: ChangeRequest, doc: document.Document
) -> list[document.Finding]:
    """What the validator and the account checks say about a draft's document: what the
    editor shows next to the fields, and what submit refuses on."""
    return findings_for(change, doc)
