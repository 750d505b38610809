"""Review: the change page, the approvers' queue, and one POST per transition.

Views only read input and call a service; the services decide who may do what and record every
refusal, and ``refusals.answers_refusals`` turns a refusal into the answer. The page's buttons
are ``services.allowed_actions``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from frameworks import access, document, queries, segregation, services
from frameworks.access import Action
from frameworks.forms import (
    ApproveForm,
    CommentForm,
    RejectForm,
    ReopenForm,
    SubmitForm,
    WithdrawForm,
    named_errors,
)
from frameworks.models import (
    ChangeKind,
    ChangeRequest,
    ChangeState,
    Decision,
    HistoryEvent,
)
from frameworks.views.diffs import control_index as _control_index
from frameworks.views.diffs import side_by_side as _side_by_side
from frameworks.views.http import AuthedRequest
from frameworks.views.refusals import Answer, answers_refusals, forbidden

if TYPE_CHECKING:
    pass


@require_GET
def review_queue(request: AuthedRequest) -> HttpResponse:
    if not access.can_anywhere(request.user, Action.APPROVE):
        return forbidden(request, "Only approvers have a review queue.")
    changes = list(
        queries.awaiting_review(request.user)
        .select_related("target", "base_version", "proposed_version")
        .order_by("submitted_at", "pk")
    )
    for change in changes:
        change.changes = document.diff(*_documents(change))  # type: ignore[attr-defined]
    return render(request, "frameworks/review_queue.html", {"changes": changes})


# --- the change page ------------------------------------------------------------------------


def _get_change(request: AuthedRequest, pk: int) -> ChangeRequest:
    """The change with what its page shows; 404 if there is none, or if this user has no role
    on its target (``access.require_visible``)."""
    change = (
        ChangeRequest.objects.select_related(
            "target", "framework", "base_version", "proposed_version"
        )
        .filter(pk=pk)
        .first()
    )
    access.require_visible(request.user, change.target if change is not None else None)
    assert change is not None
    return change


def _documents(
    change: ChangeRequest,
) -> tuple[document.Document | None, document.Document | None]:
    """(base, proposal): None for a create's base and a delete's proposal. Versions store no
    name (it is the framework's identity, not content), so each is given the change's."""
    base = change.base_version.as_document() if change.base_version is not None else None
    proposed = None
    if change.kind != ChangeKind.DELETE and change.proposed_version is not None:
        proposed = change.proposed_version.as_document()
    elif change.kind != ChangeKind.DELETE:
        try:
            proposed = document.parse(change.working_document)
        except document.DocumentError:
            proposed = None
    # Versions keep no tags: the change holds the base's and the proposed ones (None: the
    # proposal leaves them alone, so the diff shows no tag change).
    if base is not None:
        base.tags = dict(change.base_tags) if change.base_tags is not None else None
    if proposed is not None:
        proposed.tags = dict(change.proposed_tags) if change.proposed_tags is not None else None
    for doc in (base, proposed):
        if doc is not None:
            doc.name = change.framework_name
    return base, proposed


def _findings(change: ChangeRequest, proposed: document.Document | None) -> list:
    """What the validator and the account checks say of the proposal: of the document as
    written while it is a draft, of the frozen version once submitted."""
    if proposed is None:
        return []
    working = change.working_document if change.state == ChangeState.DRAFT else None
    try:
        doc = document.parse(working) if working else proposed
    except document.DocumentError as error:
        return error.findings
    return services.change_request_findings(change, doc)


def _worded(
    findings: list[document.Finding],
    proposed: document.Document | None,
    touched: set[int],
) -> dict[str, Any]:
    """The findings as sentences; warnings about controls this change does not touch are only
    counted (they were there before and are not the reviewer's question)."""
    controls = proposed.controls if proposed is not None else []
    shown, quiet = [], []
    for finding in findings:
        index = _control_index(finding.path)
        item = {"severity": finding.severity, "words": document.finding_words(finding, controls)}
        untouched = index is not None and index not in touched
        if finding.severity == document.WARNING and untouched:
            quiet.append(item)
        else:
            shown.append(item)
    return {"shown": shown, "untouched": quiet}


def _live_parts(request: AuthedRequest, change: ChangeRequest) -> dict[str, Any]:
    """What on the change page moves on by itself while a change is applied: the buttons,
    the decisions and the timeline (the apply section swaps them in once the change ends)."""
    decisions = change.current_decisions()
    # change.current_approvals() without a second query; the four-eyes rule of access changes
    # says which of them count, and why the others do not.
    verdicts = segregation.verdicts(
        change,
        [
            d
            for d in decisions
            if d.decision == Decision.APPROVE and d.content_hash == change.review_hash
        ],
    )
    return {
        "decisions": decisions,
        "approvals": sum(1 for v in verdicts if v.counts),
        "not_counted": [(v.approval.pk, v.reason) for v in verdicts if not v.counts],
        "timeline": queries.history_entries(
            list(HistoryEvent.objects.filter(change_request=change).order_by("id"))
        ),
        "can": services.allowed_actions(request.user, change),
    }


@require_GET
def change_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    change = _get_change(request, pk)
    base, proposed = _documents(change)
    changes = document.diff(base, proposed)
    sides = _side_by_side(base, proposed, changes)
    touched = {i for i, item in enumerate(sides["proposed"]) if item["mark"]}
    context = {
        "change": change,
        "target": change.target,
        "changes": changes,
        "sides": sides,
        "findings": _worded(_findings(change, proposed), proposed, touched),
        "comments": list(change.comments.order_by("id")),
        **_live_parts(request, change),
    }
    return render(request, "frameworks/change_detail.html", context)


@never_cache
@require_GET
def change_apply_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """The apply section of a change page, for htmx to swap in every two seconds while the
    change waits or is applied; the page header's state comes with it, and once the change
    has ended since the page was drawn, its buttons, decisions and timeline too, so every part
    of the page agrees without a reload. A browser without JavaScript is sent to the page."""
    change = (
        ChangeRequest.objects.select_related("target", "framework", "base_version")
        .filter(pk=pk)
        .first()
    )
    access.require_visible(request.user, change.target if change is not None else None)
    assert change is not None
    if not request.htmx:
        return redirect(reverse("frameworks:change-detail", args=[pk]) + "#apply-status")
    drawn = request.GET.get("drawn", "")
    context: dict[str, Any] = {"change": change, "drawn": drawn or change.state, "oob": True}
    if change.is_final and drawn and drawn != change.state:
        context.update(_live_parts(request, change), target=change.target)
        return render(request, "frameworks/change_detail.html#ended", context)
    return render(request, "frameworks/_apply_status.html", context)


# --- the transitions: one POST each ---------------------------------------------------------


F = TypeVar("F", bound=forms.Form)


def _posted(request: AuthedRequest, pk: int, form_class: type[F]) -> F:
    """The button's form, read only once the change is known to be one this user may see (to
    anyone else it is the 404 of a change that does not exist, whatever the body). Text the
    form refuses is said on the change page (as text to htmx), nothing having changed."""
    change = ChangeRequest.objects.select_related("target").filter(pk=pk).first()
    access.require_visible(request.user, change.target if change is not None else None)
    form = form_class(request.POST)
    if form.is_valid():
        return form
    message = "Nothing was done. " + " ".join(named_errors(form))
    if request.htmx:
        raise Answer(HttpResponse(message, status=400, content_type="text/plain; charset=utf-8"))
    messages.error(request, message)
    raise Answer(redirect("frameworks:change-detail", pk))


@require_POST
@answers_refusals
def change_submit(request: AuthedRequest, pk: int) -> HttpResponse:
    form = _posted(request, pk, SubmitForm)
    services.change_request_submit(
        user=request.user,
        change_id=pk,
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data["version"],
    )
    messages.success(
        request, "Submitted for review. The approvers of this account and Region were told."
    )
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    form = _posted(request, pk, ApproveForm)
    change = services.change_request_approve(
        user=request.user,
        change_id=pk,
        content_hash=form.cleaned_data["content_hash"],
        reason=form.cleaned_data["note"],
    )
    if change.state == ChangeState.APPROVED:
        messages.success(request, "Approved. The change will now be applied to AWS.")
    else:
        messages.success(request, "Your approval is recorded; the change needs more approvals.")
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_reject(request: AuthedRequest, pk: int) -> HttpResponse:
    form = _posted(request, pk, RejectForm)
    services.change_request_reject(
        user=request.user,
        change_id=pk,
        content_hash=form.cleaned_data["content_hash"],
        reason=form.cleaned_data["reason"],
    )
    messages.success(request, "Rejected. The author was told why.")
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_reopen(request: AuthedRequest, pk: int) -> HttpResponse:
    form = _posted(request, pk, ReopenForm)
    services.change_request_reopen(
        user=request.user, change_id=pk, reason=form.cleaned_data["reason"]
    )
    messages.success(request, "Reopened as a draft. Approvals given so far were dismissed.")
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_withdraw(request: AuthedRequest, pk: int) -> HttpResponse:
    form = _posted(request, pk, WithdrawForm)
    services.change_request_withdraw(
        user=request.user, change_id=pk, reason=form.cleaned_data["reason"]
    )
    messages.success(request, "Withdrawn. Nothing will be applied.")
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_rebase(request: AuthedRequest, pk: int) -> HttpResponse:
    services.change_request_rebase(user=request.user, change_id=pk)
    messages.success(
        request, "Rebased onto the current document: check the difference, then submit again."
    )
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_comment(request: AuthedRequest, pk: int) -> HttpResponse:
    form = _posted(request, pk, CommentForm)
    services.change_request_comment(user=request.user, change_id=pk, body=form.cleaned_data["body"])
    if request.htmx:
        change = _get_change(request, pk)
        return render(
            request,
            "frameworks/change_detail.html#comment-thread",
            {
                "change": change,
                "comments": list(change.comments.order_by("id")),
                "can": {"comment": True},
            },
        )
    return redirect("frameworks:change-detail", pk)


@require_POST
@answers_refusals
def change_start_from(request: AuthedRequest, pk: int) -> HttpResponse:
    """'Start a new change from this one': a new draft with an ended change's document."""
    new = services.change_request_start_from(user=request.user, change_id=pk)
    messages.success(request, f"Draft #{new.pk} starts from change #{pk}, on the live document.")
    return redirect("frameworks:change-edit", new.pk)
