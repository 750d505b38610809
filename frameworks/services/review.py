"""Review: submit, reopen, withdraw, approve (four eyes, bound to the content hash), reject and
comment. Approval enqueues the apply on commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from frameworks import access, approvals, document, history, notifications, segregation
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
    require_text,
    service,
)
from frameworks.services.drafts import findings_for, findings_json, kind_for, live_version

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def check_base(call: Call, change: ChangeRequest, framework: Framework | None) -> None:
    """The draft must still start from what AWS holds (`framework`, its mirror), or its diff
    would lie to reviewers."""
    present = framework is not None and framework.present
    if change.kind == ChangeKind.CREATE:
        if present:
            raise call.refuse(
                f"A framework named {change.framework_name} now exists in AWS. Rebase this draft "
                "to turn it into a change of that framework.",
                "rebase_needed",
            )
        return None
    tags_moved = (
        change.changes_tags and framework is not None and (framework.tags != change.base_tags)
    )
    if (
        framework is None
        or not framework.present
        or framework.content_hash != change.base_hash
        or tags_moved
    ):
        raise call.refuse(
            f"{change.framework_name} changed in AWS after this draft was started. Rebase the "
            "draft onto the current document and check your changes before submitting.",
            "rebase_needed",
        )


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
    findings = findings_for(change, doc)
    if document.has_errors(findings):
        errors = [f for f in findings if f.severity == document.ERROR]
        raise call.refuse(
            f"The document has {len(errors)} error{'s' if len(errors) > 1 else ''}; the first: "
            f"{document.finding_words(errors[0], doc.controls)}",
            "invalid",
            findings=findings,
        )
    if (
        change.base_version
        and document.content_hash(doc) == change.base_version.content_hash
        and not change.changes_tags
    ):
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


def guard_submit(call: Call, change: ChangeRequest) -> None:
    require_author(call, change, "submit")
    require_state(call, change, ChangeState.DRAFT, what="submit")


@service
def change_request_submit(
    *,
    user: User,
    change_id: int,
    reason: str,
    expected_version: int | None = None,
) -> ChangeRequest:
    """The author submits a draft for review: it needs a reason, a document without errors
    (the validator and the account's quotas and AlreadyExists rule), a base that is still the
    live document, and an actual change. The proposal is frozen; at most one change per
    framework is open at a time (the database enforces it under races)."""
    call, change = load_for_user(user, "submit", change_id)
    guard_submit(call, change)
    if expected_version is not None and expected_version != change.version:
        raise call.refuse(
            "This draft was saved elsewhere after you opened it; reload it before submitting.",
            "version_conflict",
        )
    reason = require_reason(call, reason, "submit this change")
    framework = Framework.objects.filter(target=change.target, name=change.framework_name).first()
    check_base(call, change, framework)
    if change.kind == ChangeKind.CREATE:
        framework = None  # a create has no base to be bound to
    proposed, warnings = _freeze(call, change)
    change.proposed_version = proposed
    tag_fields = change.proposal_fields()  # bound to the frozen version
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
                **tag_fields,
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
            "warnings": findings_json(warnings),
        },
    )
    notifications.change_submitted(change)  # the target's approvers, on commit
    return change


def guard_reopen(call: Call, change: ChangeRequest) -> None:
    require_author(call, change, "reopen")
    require_state(call, change, ChangeState.SUBMITTED, what="reopen")


@service
def change_request_reopen(*, user: User, change_id: int, reason: str = "") -> ChangeRequest:
    """The author takes a submitted change back to draft to edit it. Every approval given so
    far is dismissed (each with its own history row): reviewers approved what they saw, and
    the author is about to change it."""
    call, change = load_for_user(user, "reopen", change_id)
    guard_reopen(call, change)
    reason = require_text(call, reason, "note", "The reason")
    move(call, change, to=ChangeState.DRAFT)
    why = reason or "The author reopened the change to edit it."
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


def guard_withdraw(call: Call, change: ChangeRequest) -> bool:
    """The author withdraws a submitted or approved change; an admin may withdraw anyone's
    approved change until a worker claims it (a draft is discarded instead). True when the
    one withdrawing is the author."""
    user = call.person
    is_author = change.author_id == user.pk and access.can(user, Action.EDIT, change.target)
    is_admin = access.can(user, Action.WITHDRAW_ANY, change.target)
    if not (is_author or is_admin):
        raise call.refuse(
            f"Only the author of this change ({change.author_name}) or an admin may withdraw it.",
            "not_author",
            permission=True,
        )
    require_state(call, change, ChangeState.SUBMITTED, ChangeState.APPROVED, what="withdraw")
    if not is_author and change.state != ChangeState.APPROVED:
        raise call.refuse(
            "Only its author may withdraw a change under review.", "not_author", permission=True
        )
    return is_author


@service
def change_request_withdraw(*, user: User, change_id: int, reason: str = "") -> ChangeRequest:
    """See ``guard_withdraw``: the author, or an admin once the change is approved."""
    call, change = load_for_user(user, "withdraw", change_id)
    is_author = guard_withdraw(call, change)
    reason = require_text(call, reason, "note", "The reason")
    state_before = change.state
    move(call, change, to=ChangeState.WITHDRAWN)
    history.append(
        Event.WITHDRAWN,
        call.actor,
        change_request=change,
        details={"reason": reason.strip(), "state_before": state_before, "by_author": is_author},
    )
    return change


def guard_review(call: Call, change: ChangeRequest, content_hash: str, what: str) -> None:
    """Approvers of the target decide on submitted changes they did not write, on exactly the
    proposal they saw."""
    require(call, Action.APPROVE, "You may not review changes to this target.", "not_approver")
    if change.author_id is not None and change.author_id == call.person.pk:
        raise call.refuse(
            f"You wrote this change; someone else must {what} it.", "four_eyes", permission=True
        )
    require_state(call, change, ChangeState.SUBMITTED, what=what)
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
            given = Approval(
                change_request=change,
                reviewer=call.user,
                reviewer_key=call.person.pk,
                reviewer_name=call.person.get_username(),
                author_id=change.author_id,
                decision=decision,
                content_hash=content_hash,
                reason=reason,
                created_at=timezone.now(),
            )
            # Signed with a key the database does not hold: the worker counts only these.
            given.mac = approvals.sign(given, change)
            given.save()
    except IntegrityError:
        # The database's four-eyes check, should the one above ever be bypassed.
        raise call.refuse(
            "You wrote this change; someone else must review it.", "four_eyes", permission=True
        ) from None


@service
def change_request_approve(
    *, user: User, change_id: int, content_hash: str, reason: str = ""
) -> ChangeRequest:
    """An approver of the target, never the author, approves the proposal whose hash they saw.
    With the target's required number of approvals (each reviewer's newest decision counts
    once) the change is approved. Approving again what one already approved does nothing."""
    call, change = load_for_user(user, "approve", change_id)
    guard_review(call, change, content_hash, "approve")
    reason = require_text(call, reason, "note", "The note")
    mine = [a for a in change.current_decisions() if a.reviewer_id == user.pk]
    if mine and mine[0].decision == Decision.APPROVE and mine[0].content_hash == content_hash:
        return change
    _decide(call, change, Decision.APPROVE, content_hash, reason.strip())
    # Only approvals that pass the four-eyes rule of access changes count (segregation).
    verdicts = segregation.verdicts(change, change.current_approvals())
    approvals = sum(1 for v in verdicts if v.counts)
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
            "not_counted": [
                {"reviewer": v.approval.reviewer_name, "reason": v.reason}
                for v in verdicts
                if not v.counts
            ],
        },
    )
    if enough:
        # On commit, the author hears of it and the apply worker gets it.
        notifications.author_news(change, "approved", by=user)
        _enqueue_apply(change)
    return change


def _enqueue_apply(change: ChangeRequest) -> None:
    """Hand an approved change to the apply worker once the approval commits; should the
    message be lost, the reconciler enqueues it again."""
    # Imported here: tasks sits above the services (it runs the worker), and the services face
    # must load without pulling the worker in.
    from frameworks import tasks

    tasks.apply_change.delay_on_commit(change.pk)


@service
def change_request_reject(
    *, user: User, change_id: int, content_hash: str, reason: str
) -> ChangeRequest:
    """An approver of the target, never the author, rejects the proposal they saw, with a
    reason. One rejection is a veto: the change ends rejected."""
    call, change = load_for_user(user, "reject", change_id)
    guard_review(call, change, content_hash, "reject")
    reason = require_reason(call, reason, "reject this change")
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
    notifications.author_news(change, "rejected", by=user, note=reason)  # on commit
    return change


def guard_comment(call: Call, change: ChangeRequest) -> None:
    require(call, Action.COMMENT, "You may not comment on changes to this target.", "no_comment")


@service
def change_request_comment(*, user: User, change_id: int, body: str) -> Comment:
    """Editors, approvers and admins of the target discuss a change; auditors only read."""
    call, change = load_for_user(user, "comment", change_id)
    guard_comment(call, change)
    body = require_text(call, body, "comment", "The comment")
    if not body:
        raise call.refuse("Write something to comment.", "empty_comment")
    comment = Comment.objects.create(
        change_request=change, author=user, author_name=user.get_username(), body=body
    )
    history.append(
        Event.COMMENTED,
        call.actor,
        change_request=change,
        # The text too, so the audit page's search finds what was said.
        details={"comment_id": comment.pk, "comment": body},
    )
    return comment


def guard_rebase(call: Call, change: ChangeRequest) -> None:
    require_author(call, change, "rebase")
    require_state(call, change, ChangeState.STALE, ChangeState.DRAFT, what="rebase")


@service
def change_request_rebase(*, user: User, change_id: int) -> ChangeRequest:
    """The author moves a stale change (or a draft, whose base submit requires to be live)
    onto what AWS holds now, back to draft: the diff is then computed against the current
    document and the author submits again. A create whose framework has appeared becomes an
    update of it, an update whose framework has gone becomes a create."""
    call, change = load_for_user(user, "rebase", change_id)
    guard_rebase(call, change)
    framework = Framework.objects.filter(target=change.target, name=change.framework_name).first()
    kind = kind_for(call, change.kind, framework)
    live = live_version(call, framework)
    old_base, state_before, kind_before = change.base_version, change.state, change.kind
    # The proposal is judged against the new base's tags (computed on the object, saved
    # by the move below).
    change.kind, change.base_tags = kind, framework.tags if live and framework else None
    move(
        call,
        change,
        to=ChangeState.DRAFT,
        kind=kind,
        base_version=live,
        framework=framework if live else None,
        base_tags=change.base_tags,
        **change.proposal_fields(),
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
    # A decision taken against the old base does not carry over to the new one.
    why = "The change was rebased onto a newer live document; the difference changed."
    history.append_many([rebased, *_dismiss_decisions(call, change, why)])
    return change
