"""The framework editor: drafts of changes, edited as forms or as JSON.

Every view works without JavaScript (plain POST, then a redirect or a whole page); with htmx
the same views answer with a fragment of ``frameworks/edit.html``. Nothing here judges a
framework: the forms read input, the document core says what is wrong, and the services save,
guard and record (a refused attempt leaves a history row).

Buttons that only reshape the form (add, remove or move a row, switch a control, check) never
save; "Save draft" saves, with the version the page was drawn from, so a draft saved in another
tab since is refused instead of overwritten.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from frameworks import access, document, services
from frameworks.forms import (
    DeletionDraftForm,
    DeletionForm,
    FrameworkEditor,
    NewFrameworkForm,
    Slots,
    row_slots_oob,
)
from frameworks.models import ChangeKind, ChangeRequest, ChangeState, Framework, Target
from frameworks.views.editing import (
    EDIT,
    checking_view,
    control_row_of,
    diff_preview,
    draft_view,
    editing_of,
    editor_page,
    page_urls,
    parse_or_none,
    posted_editor,
    redrawn,
    store_draft,
)
from frameworks.views.http import AuthedRequest
from frameworks.views.refusals import answers_refusals


def _framework(request: AuthedRequest, target: str, name: str) -> Framework:
    """The framework the URL names, with its target, once the service has said this user may
    propose changes to it (refused and recorded if not; to someone with no role there the
    refusal is the same 404 as for a framework that does not exist, ``answers_refusals``)."""
    framework = (
        Framework.objects.select_related("target").filter(target__slug=target, name=name).first()
    )
    if framework is None:
        raise Http404(access.NOT_FOUND)
    # Before anything else is read or looked up: an auditor is refused whatever was posted.
    services.change_request_check_editor(
        user=request.user, target_id=framework.target_id, framework_name=name
    )
    return framework


@require_POST
@answers_refusals
def change_propose(request: AuthedRequest, target: str, name: str) -> HttpResponse:
    """ "Propose a change" on a framework page: the editor's own draft of it if there is one,
    else a new draft prefilled with the current document."""
    framework = _framework(request, target, name)
    mine = ChangeRequest.objects.filter(
        target=framework.target_id,
        framework_name=name,
        kind=ChangeKind.UPDATE,
        state=ChangeState.DRAFT,
        author=request.user.pk,
    ).first()
    if mine is not None:
        messages.info(request, f"You already have a draft of {name}; here it is.")
        return redirect("frameworks:change-edit", mine.pk)
    change = services.change_request_create_draft(
        user=request.user,
        target_id=framework.target_id,
        kind=ChangeKind.UPDATE,
        framework_name=name,
    )
    return redirect("frameworks:change-edit", change.pk)


@require_http_methods(["GET", "POST"])
@answers_refusals
def change_new(request: AuthedRequest, target: str) -> HttpResponse:
    """A new framework on a target: its name first (AWS cannot rename one), then the editor."""
    target_obj = Target.objects.filter(slug=target).first()
    if target_obj is None:
        raise Http404(access.NOT_FOUND)
    # Before the form is read: an auditor is refused whatever was posted, and someone with no
    # role there gets the 404 of a missing target (both recorded by the service).
    services.change_request_check_editor(user=request.user, target_id=target_obj.pk)
    form = NewFrameworkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.change_request_create_draft(
                user=request.user,
                target_id=target_obj.pk,
                kind=ChangeKind.CREATE,
                framework_name=form.cleaned_data["name"],
            )
        except services.TransitionRefused as refusal:
            if isinstance(refusal, services.PermissionRefused):
                raise
            for message in [f.message for f in refusal.findings] or [refusal.message]:
                form.add_error("name", message[:1].upper() + message[1:])
        else:
            return redirect("frameworks:change-edit", change.pk)
    drafts = ChangeRequest.objects.filter(
        target=target_obj, kind=ChangeKind.CREATE, state=ChangeState.DRAFT, author=request.user.pk
    ).order_by("-pk")
    context = {"target": target_obj, "form": form, "drafts": drafts}
    return render(request, "frameworks/new.html", context)


@require_http_methods(["GET", "POST"])
@answers_refusals
def change_propose_deletion(request: AuthedRequest, target: str, name: str) -> HttpResponse:
    """ "Propose deletion" on a framework page: a delete draft, with the reason reviewers read."""
    framework = _framework(request, target, name)
    form = DeletionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.change_request_create_draft(
                user=request.user,
                target_id=framework.target_id,
                kind=ChangeKind.DELETE,
                framework_name=name,
                reason=form.cleaned_data["reason"],
            )
        except services.TransitionRefused as refusal:
            if isinstance(refusal, services.PermissionRefused):
                raise
            form.add_error(None, refusal.message)
        else:
            messages.success(request, "Deletion draft saved. Submit it for review when ready.")
            return redirect("frameworks:change-deletion", change.pk)
    context = {"target": framework.target, "framework": framework, "form": form}
    return render(request, "frameworks/propose_delete.html", context)


# --- the form editor --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@draft_view
def change_edit(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """The editor. POST saves the draft, refused when it was saved elsewhere meanwhile."""
    if change.kind == ChangeKind.DELETE:
        return redirect("frameworks:change-deletion", change.pk)
    if request.method == "POST":
        editor = posted_editor(request, change)
        return store_draft(request, change, editor.api_document(), editor.version, editor.reason)
    doc = parse_or_none(change.working_document)
    if doc is None:
        messages.info(request, "This draft is not a framework document yet: fix it as JSON.")
        return redirect("frameworks:change-json", change.pk)
    editor = FrameworkEditor.from_document(
        doc, editing=editing_of(change), version=change.version, reason=change.reason
    )
    return editor_page(request, change, editor, stored=doc)


@require_POST
@checking_view
def change_check(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """Validate without saving. htmx (a field was left): the feedback of the row it is in, the
    diff and the readiness, swapped in place. Without JavaScript: the whole page."""
    editor = posted_editor(request, change)
    data = editor.api_document()
    if not request.htmx:
        again, doc = redrawn(data, change, editor.version, editor.reason)
        return editor_page(request, change, again, written=doc)
    doc = document.parse(data)
    findings = services.change_request_findings(change, doc)
    editor.place(findings)
    target = request.htmx.target or ""
    row = control_row_of(editor, target.removeprefix("row-"))
    main = Slots("draft", editor.main.feedback, oob=True)
    feedback = row_slots_oob(row) if row else [main["description"], main["reason"]]
    if target == "refresh":
        # The page's own check after a reshaping answer: every row may have moved or changed.
        for form in editor.rows():
            feedback += row_slots_oob(form)
    feedback += [
        editor.page_slot(oob=True),
        editor.controls_slot(oob=True),
        editor.tags_slot(oob=True),
    ]
    context = {"editor": editor, "feedback": feedback, "change": change}
    context.update(preview=diff_preview(change, doc, findings), urls=page_urls(change))
    return render(request, f"{EDIT}#check-result", context)


@require_POST
@draft_view
def change_discard(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    services.change_request_discard(user=request.user, change_id=change.pk)
    messages.success(request, f"Draft #{change.pk} discarded.")
    if change.framework_id:
        return redirect("frameworks:detail", change.target.slug, change.framework_name)
    return redirect("frameworks:list")


@require_http_methods(["GET", "POST"])
@draft_view
def change_deletion(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """A deletion draft: its reason (editable), what it deletes, and the way to review."""
    if change.kind != ChangeKind.DELETE:
        return redirect("frameworks:change-edit", change.pk)
    initial = {"version": change.version, "reason": change.reason}
    form = DeletionDraftForm(request.POST or None, initial=initial)

    def page(change: ChangeRequest, notice: str = "", status: int = 200) -> HttpResponse:
        context = {"change": change, "target": change.target, "form": form, "notice": notice}
        context.update(urls=page_urls(change), preview=diff_preview(change, None, []))
        return render(request, "frameworks/propose_delete.html", context, status=status)

    if request.method == "POST" and form.is_valid():
        version, reason = form.cleaned_data["version"], form.cleaned_data["reason"]
        if version != change.version:
            # What was typed stays on the page; saving again then saves it deliberately.
            form = DeletionDraftForm(initial={"version": change.version, "reason": reason})
        return store_draft(
            request,
            change,
            None,
            version,
            reason,
            then="frameworks:change-deletion",
            redraw=lambda change, notice: page(change, notice, 409),
        )
    if "version" in form.errors:
        return HttpResponse("The form arrived damaged: it has no version.", status=400)
    return page(change)
