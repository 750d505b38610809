"""Every state change of a change request goes through a function here: guard, mutate, record.

Each service is one transaction: it checks who is asking (``access.can``) and the current state,
moves the change with a conditional UPDATE on its ``version`` (and state) and checks the row
count, then appends its history row in the same transaction. A refusal raises
``TransitionRefused`` (``PermissionRefused`` when it is about who asked; views answer 403),
changes nothing, and is itself recorded: the attempted transaction is rolled back and the
refused row is written in a transaction of its own.

The transitions, exactly as the change-requests issue states them:

    draft      → submitted (submit) | withdrawn (discard) | draft (save, rebase)
    submitted  → approved (enough approvals) | rejected | draft (reopen) | withdrawn | stale
    approved   → applying (claim) | withdrawn (author or admin) | stale
    applying   → applied | failed | approved (lease expired) | stale (worker saw drift)
    stale      → draft (rebase)
    applied, failed, rejected, withdrawn: final; start_from opens a new draft.

The worker's transitions live in ``services_apply.py`` and sync in ``sync.py``; both are
re-exported here so callers import services only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from frameworks import access, document, history, notifications
from frameworks.access import Action
from frameworks.models import (
    OPEN_STATES,
    Approval,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    Comment,
    Decision,
    DocumentVersion,
    Event,
    Framework,
    Target,
)
from frameworks.services_apply import (
    change_request_claim,
    change_request_mark_applied,
    change_request_mark_failed,
    change_request_mark_stale,
    change_request_record_attempt,
    change_request_record_deployment_status,
    change_request_release_expired,
)
from frameworks.services_base import (
    Call,
    PermissionRefused,
    TransitionRefused,
    load,
    move,
    service,
)
from frameworks.sync import SyncResult, mirror_document, sync_all, target_sync

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "PermissionRefused",
    "SyncResult",
    "TransitionRefused",
    "change_request_approve",
    "change_request_claim",
    "change_request_comment",
    "change_request_create_draft",
    "change_request_discard",
    "change_request_mark_applied",
    "change_request_mark_failed",
    "change_request_mark_stale",
    "change_request_rebase",
    "change_request_record_attempt",
    "change_request_record_deployment_status",
    "change_request_reject",
    "change_request_release_expired",
    "change_request_reopen",
    "change_request_start_from",
    "change_request_submit",
    "change_request_withdraw",
    "sync_all",
    "target_sync",
]


# --- guards ---------------------------------------------------------------------------------


def _require(call: Call, action: Action, message: str, code: str) -> None:
    if not access.can(call.user, action, call.target):
        raise call.refuse(message, code, permission=True)


def _require_author(call: Call, change: ChangeRequest, what: str) -> None:
    """The author, still an editor of the target, is the only one who may `what`."""
    _require(call, Action.EDIT, "You may not edit changes to this target.", "not_editor")
    if change.author_id is None or change.author_id != call.user.pk:
        raise call.refuse(
            f"Only the author of this change ({change.author_name}) may {what} it.",
            "not_author",
            permission=True,
        )


# Issue 6: "approveed", "rebaseed", "submited", "withdrawed" read badly on the change page.
_PARTICIPLES = {
    "approve": "approved",
    "rebase": "rebased",
    "submit": "submitted",
    "withdraw": "withdrawn",
}


def _require_state(call: Call, change: ChangeRequest, *states: str, what: str) -> None:
    if change.state in states:
        return
    if change.state == ChangeState.STALE:
        message = (
            f"This change is stale: {change.framework_name} changed in AWS after it was "
            f"written. Its author must rebase it before anyone can {what} it."
        )
    else:
        done = _PARTICIPLES.get(what, f"{what}ed")
        message = f"This change is {change.get_state_display().lower()}; it cannot be {done}."
    raise call.refuse(message, f"not_{'_or_'.join(states)}")


def _require_reason(call: Call, reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise call.refuse(f"Give a reason to {what}.", "reason_required")
    return reason


def _load_for_user(user: AbstractBaseUser, action: str, change_id: int) -> tuple[Call, Any]:
    call = Call.for_user(user, action)
    change = load(call, change_id)
    _require(call, Action.VIEW, "You have no role on this target.", "no_role")
    return call, change


# --- documents ------------------------------------------------------------------------------


def _proposal(working: dict[str, Any]) -> DocumentVersion | None:
    """The version of a working document, or None while it cannot be read as a framework."""
    try:
        return DocumentVersion.record(document.parse(working))
    except document.DocumentError:
        return None


def _live(call: Call, framework: Framework | None) -> DocumentVersion | None:
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


def _check_name(call: Call, name: str) -> None:
    findings = document.validate(document.Document(name=name), require_name=True)
    problems = [f for f in findings if f.path == "name" and f.severity == document.ERROR]
    if problems:
        raise call.refuse(
            f"The framework name {problems[0].message}.", "bad_name", findings=problems
        )


def _findings(change: ChangeRequest, doc: document.Document) -> list[document.Finding]:
    """Everything the validator and the account checks say about a proposal."""
    target = change.target
    is_new = change.kind == ChangeKind.CREATE
    others = [
        mirror_document(f)
        for f in Framework.objects.present()
        .filter(target=target)
        .exclude(name=change.framework_name)
    ]
    return document.validate(doc, require_name=is_new) + document.account_findings(
        doc,
        [other for other in others if other is not None],
        max_frameworks=target.max_frameworks,
        max_controls=target.max_controls,
        is_new=is_new,
    )


def _findings_json(findings: list[document.Finding]) -> list[dict[str, str]]:
    return [
        {"path": f.path, "code": f.code, "severity": f.severity, "message": f.message}
        for f in findings
    ]


# --- drafts ---------------------------------------------------------------------------------


def _kind_for(call: Call, kind: str, framework: Framework | None) -> str:
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


def _new_draft(
    call: Call,
    *,
    kind: str,
    working: dict[str, Any] | None,
    reason: str = "",
    parent: ChangeRequest | None = None,
) -> ChangeRequest:
    target, name = call.target, call.framework_name
    framework = Framework.objects.filter(target=target, name=name).first()
    base = _live(call, framework)
    if working is None and kind == ChangeKind.UPDATE:
        working = framework.api_document()
    working = _working(working, name, kind)
    change = ChangeRequest.objects.create(
        kind=kind,
        target=target,
        framework_name=name,
        framework=framework if base else None,
        base_version=base,
        proposed_version=None if kind == ChangeKind.DELETE else _proposal(working),
        working_document=working,
        author=call.user,
        author_name=call.user.get_username(),
        reason=reason,
        parent=parent,
    )
    history.append(
        Event.DRAFT_CREATED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=change.proposed_version,
        details={"kind": kind, "version": change.version, "parent": parent.pk if parent else None},
    )
    return change


@service
def change_request_create_draft(
    *,
    user: AbstractBaseUser,
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
    _require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")
    if kind not in ChangeKind.values:
        raise call.refuse(f"{kind!r} is not a kind of change.", "bad_kind")
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
        reason = _require_reason(call, reason, f"delete {framework_name}")
        _kind_for(call, kind, framework)
    return _new_draft(call, kind=kind, working=document, reason=reason)


@service
def change_request_save_draft(
    *,
    user: AbstractBaseUser,
    change_id: int,
    expected_version: int,
    document: dict[str, Any] | None = None,
    reason: str | None = None,
) -> ChangeRequest:
    """The author saves a draft. `expected_version` is the version the editor page loaded: a
    draft saved elsewhere since then is refused rather than silently overwritten. The document
    is kept as written; a version of it is recorded whenever it can be read."""
    call, change = _load_for_user(user, "save_draft", change_id)
    _require_draft_editor(call, change, "edit")  # issue 5: admins edit any draft
    _require_state(call, change, ChangeState.DRAFT, what="edit")
    if change.version != expected_version:
        raise call.refuse(
            f"This draft was saved elsewhere after you opened it (you had version "
            f"{expected_version}, it is now version {change.version}). Reload it and make "
            "your edits again.",
            "version_conflict",
        )
    fields: dict[str, Any] = {}
    if document is not None and change.kind != ChangeKind.DELETE:
        fields["working_document"] = _working(document, change.framework_name, change.kind)
        fields["proposed_version"] = _proposal(fields["working_document"])
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
def change_request_discard(*, user: AbstractBaseUser, change_id: int) -> ChangeRequest:
    """The author discards a draft: it ends withdrawn, kept for the record."""
    call, change = _load_for_user(user, "discard", change_id)
    _require_draft_editor(call, change, "discard")  # issue 5: and may discard it
    _require_state(call, change, ChangeState.DRAFT, what="discard")
    move(call, change, to=ChangeState.WITHDRAWN)
    history.append(Event.DRAFT_DISCARDED, call.actor, change_request=change)
    return change


def _check_base(call: Call, change: ChangeRequest) -> Framework | None:
    """The draft must still start from what AWS holds, or its diff would lie to reviewers."""
    framework = Framework.objects.filter(target=change.target, name=change.framework_name).first()
    present = framework is not None and framework.present
    if change.kind == ChangeKind.CREATE:
        if present:
            raise call.refuse(
                f"A framework named {change.framework_name} now exists in AWS. Rebase this draft "
                "to turn it into a change of that framework.",
                "rebase_needed",
            )
        return None
    if not present or framework.content_hash != change.base_version.content_hash:
        raise call.refuse(
            f"{change.framework_name} changed in AWS after this draft was started. Rebase the "
            "draft onto the current document and check your changes before submitting.",
            "rebase_needed",
        )
    return framework


def _freeze(call: Call, change: ChangeRequest) -> tuple[DocumentVersion | None, list]:
    """The version to submit and the warnings to show, or a refusal naming the errors."""
    if change.kind == ChangeKind.DELETE:
        return None, []
    try:
        doc = document.parse(change.working_document)
    except document.DocumentError as error:
        raise call.refuse(
            "The document cannot be read as a framework.", "invalid", findings=error.findings
        ) from None
    findings = _findings(change, doc)
    if document.has_errors(findings):
        errors = [f for f in findings if f.severity == document.ERROR]
        raise call.refuse(
            f"The document has {len(errors)} error{'s' if len(errors) > 1 else ''}; the first: "
            f"{errors[0]}.",
            "invalid",
            findings=findings,
        )
    if change.base_version and document.content_hash(doc) == change.base_version.content_hash:
        raise call.refuse(
            "This draft changes nothing: it is the same as the live document.", "no_change"
        )
    warnings = [f for f in findings if f.severity == document.WARNING]
    return DocumentVersion.record(doc), warnings


def _refuse_second_open(call: Call, change: ChangeRequest) -> TransitionRefused:
    other = (
        ChangeRequest.objects.filter(
            target=change.target, framework_name=change.framework_name, state__in=OPEN_STATES
        )
        .exclude(pk=change.pk)
        .first()
    )
    who = f" (#{other.pk} by {other.author_name}, {other.state})" if other else ""
    return call.refuse(
        f"Another change to {change.framework_name} is already open{who}. Only one change per "
        "framework can be under review or being applied at a time.",
        "already_open",
    )


@service
def change_request_submit(
    *,
    user: AbstractBaseUser,
    change_id: int,
    reason: str,
    expected_version: int | None = None,
) -> ChangeRequest:
    """The author submits a draft for review: it needs a reason, a document without errors
    (the validator and the account's quotas and AlreadyExists rule), a base that is still the
    live document, and an actual change. The proposal is frozen; at most one change per
    framework is open at a time (the database enforces it under races)."""
    call, change = _load_for_user(user, "submit", change_id)
    _require_author(call, change, "submit")
    _require_state(call, change, ChangeState.DRAFT, what="submit")
    if expected_version is not None and expected_version != change.version:
        raise call.refuse(
            "This draft was saved elsewhere after you opened it; reload it before submitting.",
            "version_conflict",
        )
    reason = _require_reason(call, reason, "submit this change")
    framework = _check_base(call, change)
    proposed, warnings = _freeze(call, change)
    now = timezone.now()
    try:
        with transaction.atomic():
            move(
                call,
                change,
                to=ChangeState.SUBMITTED,
                reason=reason,
                proposed_version=proposed,
                framework=framework,
                required_approvals=change.target.required_approvals,
                submitted_at=now,
            )
    except IntegrityError:
        raise _refuse_second_open(call, change) from None
    history.append(
        Event.SUBMITTED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=proposed,
        details={
            "reason": reason,
            "required_approvals": change.required_approvals,
            "warnings": _findings_json(warnings),
        },
    )
    notifications.change_submitted(change)  # issue 6: the target's approvers, on commit
    return change


@service
def change_request_reopen(
    *, user: AbstractBaseUser, change_id: int, reason: str = ""
) -> ChangeRequest:
    """The author takes a submitted change back to draft to edit it. Every approval given so
    far is dismissed (each with its own history row): reviewers approved what they saw, and
    the author is about to change it."""
    call, change = _load_for_user(user, "reopen", change_id)
    _require_author(call, change, "reopen")
    _require_state(call, change, ChangeState.SUBMITTED, what="reopen")
    move(call, change, to=ChangeState.DRAFT)
    why = reason.strip() or "The author reopened the change to edit it."
    entries = [
        history.Entry(Event.REOPENED, call.actor, change_request=change, details={"reason": why})
    ]
    history.append_many(entries + _dismiss_decisions(call, change, why))
    return change


def _dismiss_decisions(call: Call, change: ChangeRequest, why: str) -> list[history.Entry]:
    """Dismiss every decision still standing on a change going back to draft (reviewers
    decided on what they saw); the history rows that say so, one per decision."""
    decisions = list(change.approvals.filter(dismissed_at__isnull=True))
    Approval.objects.filter(pk__in=[a.pk for a in decisions]).update(
        dismissed_at=timezone.now(), dismissed_reason=why
    )
    return [
        history.Entry(
            Event.APPROVAL_DISMISSED,
            call.actor,
            change_request=change,
            details={
                "approval_id": a.pk,
                "reviewer": a.reviewer_name,
                "decision": a.decision,
                "content_hash": a.content_hash,
                "reason": why,
            },
        )
        for a in decisions
    ]


@service
def change_request_withdraw(
    *, user: AbstractBaseUser, change_id: int, reason: str = ""
) -> ChangeRequest:
    """The author withdraws a submitted or approved change; an admin may withdraw anyone's
    approved change until a worker claims it (a draft is discarded instead)."""
    call, change = _load_for_user(user, "withdraw", change_id)
    is_author = change.author_id == user.pk and access.can(user, Action.EDIT, change.target)
    is_admin = access.can(user, Action.WITHDRAW_ANY, change.target)
    if not (is_author or is_admin):
        raise call.refuse(
            f"Only the author of this change ({change.author_name}) or an admin may withdraw it.",
            "not_author",
            permission=True,
        )
    _require_state(call, change, ChangeState.SUBMITTED, ChangeState.APPROVED, what="withdraw")
    if not is_author and change.state != ChangeState.APPROVED:
        raise call.refuse(
            "Only its author may withdraw a change under review.", "not_author", permission=True
        )
    state_before = change.state
    move(call, change, to=ChangeState.WITHDRAWN)
    history.append(
        Event.WITHDRAWN,
        call.actor,
        change_request=change,
        details={"reason": reason.strip(), "state_before": state_before, "by_author": is_author},
    )
    return change


# --- review ---------------------------------------------------------------------------------


def _guard_review(call: Call, change: ChangeRequest, content_hash: str, what: str) -> None:
    """Approvers of the target decide on submitted changes they did not write, on exactly the
    proposal they saw."""
    _require(call, Action.APPROVE, "You may not review changes to this target.", "not_approver")
    if change.author_id is not None and change.author_id == call.user.pk:
        raise call.refuse(
            f"You wrote this change; someone else must {what} it.", "four_eyes", permission=True
        )
    _require_state(call, change, ChangeState.SUBMITTED, what=what)
    if content_hash != change.review_hash:
        raise call.refuse(
            f"The proposal changed after you opened it; read the current one before you {what} it.",
            "outdated",
        )


def _decide(
    call: Call, change: ChangeRequest, decision: str, content_hash: str, reason: str
) -> None:
    try:
        with transaction.atomic():
            Approval.objects.create(
                change_request=change,
                reviewer=call.user,
                reviewer_name=call.user.get_username(),
                author_id=change.author_id,
                decision=decision,
                content_hash=content_hash,
                reason=reason,
            )
    except IntegrityError:
        # The database's four-eyes check, should the one above ever be bypassed.
        raise call.refuse(
            "You wrote this change; someone else must review it.", "four_eyes", permission=True
        ) from None


@service
def change_request_approve(
    *, user: AbstractBaseUser, change_id: int, content_hash: str, reason: str = ""
) -> ChangeRequest:
    """An approver of the target, never the author, approves the proposal whose hash they saw.
    With the target's required number of approvals (each reviewer's newest decision counts
    once) the change is approved. Approving again what one already approved does nothing."""
    call, change = _load_for_user(user, "approve", change_id)
    _guard_review(call, change, content_hash, "approve")
    mine = [a for a in change.current_decisions() if a.reviewer_id == user.pk]
    if mine and mine[0].decision == Decision.APPROVE and mine[0].content_hash == content_hash:
        return change
    _decide(call, change, Decision.APPROVE, content_hash, reason.strip())
    approvals = len(change.current_approvals())
    enough = approvals >= change.required_approvals
    move(call, change, to=ChangeState.APPROVED if enough else None)
    history.append(
        Event.APPROVED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=change.proposed_version,
        details={
            "content_hash": content_hash,
            "reason": reason.strip(),
            "approvals": approvals,
            "required_approvals": change.required_approvals,
            "state_after": change.state,
        },
    )
    if enough:
        # Issue 6: on commit, the author hears of it and the apply worker gets it.
        notifications.author_news(change, "approved", by=user)
        _enqueue_apply(change)
    return change


def _enqueue_apply(change: ChangeRequest) -> None:
    """Hand an approved change to the apply worker once the approval commits; should the
    message be lost, the reconciler enqueues it again."""
    from frameworks import tasks  # tasks imports this module

    tasks.apply_change.delay_on_commit(change.pk)


@service
def change_request_reject(
    *, user: AbstractBaseUser, change_id: int, content_hash: str, reason: str
) -> ChangeRequest:
    """An approver of the target, never the author, rejects the proposal they saw, with a
    reason. One rejection is a veto: the change ends rejected."""
    call, change = _load_for_user(user, "reject", change_id)
    _guard_review(call, change, content_hash, "reject")
    reason = _require_reason(call, reason, "reject this change")
    _decide(call, change, Decision.REJECT, content_hash, reason)
    move(call, change, to=ChangeState.REJECTED)
    history.append(
        Event.REJECTED,
        call.actor,
        change_request=change,
        version_before=change.base_version,
        version_after=change.proposed_version,
        details={"content_hash": content_hash, "reason": reason},
    )
    notifications.author_news(change, "rejected", by=user, note=reason)  # issue 6, on commit
    return change


# --- stale, rebase, start again -------------------------------------------------------------


@service
def change_request_rebase(*, user: AbstractBaseUser, change_id: int) -> ChangeRequest:
    """The author moves a stale change (or a draft, whose base submit requires to be live)
    onto what AWS holds now, back to draft: the diff is then computed against the current
    document and the author submits again. A create whose framework has appeared becomes an
    update of it, an update whose framework has gone becomes a create."""
    call, change = _load_for_user(user, "rebase", change_id)
    _require_author(call, change, "rebase")
    _require_state(call, change, ChangeState.STALE, ChangeState.DRAFT, what="rebase")
    framework = Framework.objects.filter(target=change.target, name=change.framework_name).first()
    kind = _kind_for(call, change.kind, framework)
    live = _live(call, framework)
    old_base, state_before, kind_before = change.base_version, change.state, change.kind
    move(
        call,
        change,
        to=ChangeState.DRAFT,
        kind=kind,
        base_version=live,
        framework=framework if live else None,
    )
    rebased = history.Entry(
        Event.REBASED,
        call.actor,
        change_request=change,
        version_before=old_base,
        version_after=live,
        details={
            "state_before": state_before,
            "kind_before": kind_before,
            "kind": kind,
            "from_hash": old_base.content_hash if old_base else None,
            "to_hash": live.content_hash if live else None,
        },
    )
    # Issue 6: a decision taken against the old base does not carry over to the new one.
    why = "The change was rebased onto a newer live document; the difference changed."
    history.append_many([rebased, *_dismiss_decisions(call, change, why)])
    return change


@service
def change_request_start_from(*, user: AbstractBaseUser, change_id: int) -> ChangeRequest:
    """An editor of the target opens a new draft from a change that has ended (applied,
    failed, rejected or withdrawn), with its document, based on what AWS holds now."""
    call, change = _load_for_user(user, "start_from", change_id)
    _require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")
    if not change.is_final:
        raise call.refuse(
            f"This change is still {change.get_state_display().lower()}; a new change can start "
            "from it once it has ended.",
            "not_final",
        )
    framework = Framework.objects.filter(target=change.target, name=change.framework_name).first()
    kind = _kind_for(call, change.kind, framework)
    return _new_draft(
        call, kind=kind, working=change.working_document, reason=change.reason, parent=change
    )


@service
def change_request_comment(*, user: AbstractBaseUser, change_id: int, body: str) -> Comment:
    """Editors, approvers and admins of the target discuss a change; auditors only read."""
    call, change = _load_for_user(user, "comment", change_id)
    _require(call, Action.COMMENT, "You may not comment on changes to this target.", "no_comment")
    body = body.strip()
    if not body:
        raise call.refuse("Write something to comment.", "empty_comment")
    comment = Comment.objects.create(
        change_request=change, author=user, author_name=user.get_username(), body=body
    )
    history.append(
        Event.COMMENTED, call.actor, change_request=change, details={"comment_id": comment.pk}
    )
    return comment


# --- the editor (issue 5): who may open a draft, and what it is checked against -------------
# Added by the editor's author. Editors edit their own drafts; an admin of the target may edit
# anyone's ("only their own, admins any").


def _require_draft_editor(call: Call, change: ChangeRequest, what: str) -> None:
    """The author, still an editor of the target, or an admin of the target, may `what` a
    draft."""
    if access.can(call.user, Action.MANAGE, call.target):
        return
    _require_author(call, change, what)


@service
def change_request_open_draft(
    *, user: AbstractBaseUser, change_id: int, documents: bool = True
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
    _require(call, Action.VIEW, "You have no role on this target.", "no_role")
    _require_draft_editor(call, change, "edit")
    if change.state != ChangeState.DRAFT:
        raise TransitionRefused(
            f"This change is {change.get_state_display().lower()}, no longer a draft: it "
            "cannot be edited.",
            "not_draft",
        )
    return change


@service
def change_request_check_editor(
    *, user: AbstractBaseUser, target_id: int, framework_name: str = ""
) -> None:
    """May this user propose changes to the target (open the new-framework or the deletion
    page)? Refused, and recorded as access denied, if not."""
    call = Call.for_user(user, "open_editor", framework_name=framework_name)
    call.target = Target.objects.filter(pk=target_id).first()
    _require(call, Action.EDIT, "You may not propose changes to this target.", "not_editor")


def change_request_findings(
    change: ChangeRequest, doc: document.Document
) -> list[document.Finding]:
    """What the validator and the account checks say about a draft's document: what the
    editor shows next to the fields, and what submit refuses on."""
    return _findings(change, doc)
