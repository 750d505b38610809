"""The editor's JSON mode and file import: the same draft as one JSON document.

The JSON is read by ``forms.read_json_document`` (API or CloudFormation form; text that is not
JSON, or not storable, is refused with the reason) and then shown with the same findings as
the form, as a list with paths. Switching between the form and JSON carries what was typed,
unsaved; "Save draft" saves with the page's version, like the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from frameworks import document, services
from frameworks.forms import (
    Editing,
    FrameworkEditor,
    ImportForm,
    JsonDraftForm,
    document_json,
    with_fixed_name,
)
from frameworks.models import ChangeKind, ChangeRequest
from frameworks.views.editing import (
    diff_preview,
    draft_view,
    editor_page,
    page_urls,
    parse_or_none,
    posted_editor,
    store_draft,
)
from frameworks.views.http import AuthedRequest


def _json_initial(data: dict[str, Any], version: int, reason: str) -> dict[str, Any]:
    return {"version": version, "text": document_json(data), "reason": reason}


def _json_page(
    request: AuthedRequest,
    change: ChangeRequest,
    form: JsonDraftForm,
    data: dict[str, Any] | None,
    *,
    notice: str = "",
    status: int = 200,
    import_form: ImportForm | None = None,
) -> HttpResponse:
    """The draft as JSON with the findings the form would show, as a list with their paths.
    ``data``: the document the text holds (None while the text is not a framework)."""
    doc = parse_or_none(data) if data is not None else None
    findings = services.change_request_findings(change, doc) if doc else []
    version = form["version"].value() or change.version
    context = {
        "change": change,
        "target": change.target,
        "form": form,
        "findings": findings,
        "urls": page_urls(change),
        "preview": diff_preview(change, doc, findings) if doc else None,
        "notice": notice,
        "import_form": import_form or ImportForm(initial={"version": version}),
    }
    return render(request, "frameworks/edit_json.html", context, status=status)


def _unreadable(request: AuthedRequest, change: ChangeRequest, form: JsonDraftForm) -> HttpResponse:
    """JSON that is not a framework document: shown again with the reason; a form without
    its version is not this page's (400)."""
    status = 400 if "version" in form.errors else 200
    return _json_page(request, change, form, None, status=status)


@require_http_methods(["GET", "POST"])
@draft_view
def change_json(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """The same draft as one JSON document (the API form), saved with the same checks."""
    if change.kind == ChangeKind.DELETE:
        return redirect("frameworks:change-deletion", change.pk)
    if request.method == "GET":
        initial = _json_initial(change.working_document, change.version, change.reason)
        return _json_page(request, change, JsonDraftForm(initial=initial), change.working_document)
    form = JsonDraftForm(request.POST)
    if not form.is_valid():
        return _unreadable(request, change, form)
    cleaned = form.cleaned_data
    return _store_json(
        request, change, cleaned["text"], cleaned["version"], cleaned["reason"], "change-json"
    )


def _store_json(
    request: AuthedRequest,
    change: ChangeRequest,
    data: dict[str, Any],
    version: int,
    reason: str,
    then: str,
) -> HttpResponse:
    data, renamed = with_fixed_name(data, change.framework_name)
    if renamed:
        messages.warning(
            request, f"The name stays {change.framework_name}: AWS cannot rename a framework."
        )

    def redraw(change: ChangeRequest, notice: str) -> HttpResponse:
        form = JsonDraftForm(initial=_json_initial(data, change.version, reason))
        return _json_page(request, change, form, data, notice=notice, status=409)

    return store_draft(
        request, change, data, version, reason, then=f"frameworks:{then}", redraw=redraw
    )


@require_POST
@draft_view
def change_to_json(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """From the form to JSON with what was typed, not saved yet."""
    editor = posted_editor(request, change)
    if isinstance(editor, HttpResponse):
        return editor
    data = editor.api_document()
    form = JsonDraftForm(initial=_json_initial(data, editor.version, editor.reason))
    return _json_page(request, change, form, data, notice="Shown as JSON; not saved yet.")


@require_POST
@draft_view
def change_to_form(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """From JSON to the form with what was typed, not saved yet; the page says if the form
    cannot show it exactly."""
    form = JsonDraftForm(request.POST)
    if not form.is_valid():
        return _unreadable(request, change, form)
    data, _ = with_fixed_name(form.cleaned_data["text"], change.framework_name)
    doc = document.parse(data)
    editor = FrameworkEditor.from_document(
        doc,
        editing=Editing.of(change.framework_name, data),
        version=form.cleaned_data["version"],
        reason=form.cleaned_data["reason"],
    )
    notice = "Shown in the form; not saved yet."
    return editor_page(request, change, editor, stored=doc, notice=notice)


@require_POST
@draft_view
def change_import(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """A JSON file (API or CloudFormation form) replaces the draft's document."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        initial = _json_initial(change.working_document, change.version, change.reason)
        return _json_page(
            request,
            change,
            JsonDraftForm(initial=initial),
            change.working_document,
            status=400 if "version" in form.errors else 200,
            import_form=form,
        )
    upload = request.FILES.get("file")  # there is one: the form is valid
    messages.info(request, f"Imported {upload.name if upload else 'the file'}.")
    cleaned = form.cleaned_data
    return _store_json(
        request, change, cleaned["file"], cleaned["version"], change.reason, "change-edit"
    )
