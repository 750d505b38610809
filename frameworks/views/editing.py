"""What the editor's views share: loading the draft a user may edit, the page and its parts
(preview, URLs), storing a posted draft. Not views themselves: routed views live in ``editor``,
``editor_rows`` and ``editor_json``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import trigger_client_event

from frameworks import document, services
from frameworks.forms import (
    ControlForm,
    Editing,
    FrameworkEditor,
    ImportForm,
    form_differences,
)
from frameworks.models import ChangeRequest
from frameworks.views.http import AuthedRequest
from frameworks.views.refusals import Answer, answers_refusals

EDIT = "frameworks/edit.html"


CONTROL_ROW = re.compile(r"controls-\d+")

Redraw = Callable[[ChangeRequest, str], HttpResponse]


def draft_view(
    view: Callable[[AuthedRequest, ChangeRequest], HttpResponse], *, documents: bool = False
) -> Callable[[AuthedRequest, int], HttpResponse]:
    """Load the draft this user may edit: 404 for an unknown id, 403 (recorded by the service)
    for someone else's draft or a non-editor, the change page for one no longer a draft.
    Refusals the view's own services raise are answered the same way (``answers_refusals``)."""

    @functools.wraps(view)
    @answers_refusals
    def wrapper(request: AuthedRequest, pk: int) -> HttpResponse:
        # An htmx request reshaping the form reads the documents only if it needs them; one
        # that checks the draft (``documents``) always does, so in the same query.
        change = services.change_request_open_draft(
            user=request.user,
            change_id=pk,
            documents=documents or request.method == "GET" or not request.htmx,
        )
        return view(request, change)

    return wrapper


def checking_view(
    view: Callable[[AuthedRequest, ChangeRequest], HttpResponse],
) -> Callable[[AuthedRequest, int], HttpResponse]:
    """``draft_view`` for a view that reads the draft's documents whatever the request."""
    return draft_view(view, documents=True)


# --- opening drafts ---------------------------------------------------------------------------


def editing_of(change: ChangeRequest) -> Editing:
    return Editing.of(change.framework_name, change.working_document)


def parse_or_none(data: Mapping[str, Any] | None) -> document.Document | None:
    if data is None:
        return None
    try:
        return document.parse(data)
    except document.DocumentError:
        return None


def redrawn(
    data: dict[str, Any],
    change: ChangeRequest,
    version: int,
    reason: str,
    *,
    blank_rows: Mapping[int, int] | None = None,
) -> tuple[FrameworkEditor, document.Document]:
    """Forms showing a document the forms wrote (a redraw after a reshaping button), and that
    document, so the page checks it without writing and parsing it again."""
    doc = document.parse(data)
    editor = FrameworkEditor.from_document(
        doc, editing=editing_of(change), version=version, reason=reason, blank_rows=blank_rows
    )
    return editor, doc


def page_urls(change: ChangeRequest) -> dict[str, str]:
    """Every URL the page uses, reversed once rather than once per control row."""
    names = [
        "edit",
        "check",
        "control",
        "add-control",
        "remove-control",
        "move-control",
        "add-parameter",
        "remove-parameter",
        "to-json",
        "json",
        "to-form",
        "import",
        "discard",
        "deletion",
        "detail",
    ]
    return {n.replace("-", "_"): reverse(f"frameworks:change-{n}", args=[change.pk]) for n in names}


def diff_preview(
    change: ChangeRequest, doc: document.Document | None, findings: list[document.Finding]
) -> dict[str, Any]:
    """The live diff against the base, and whether the draft could be submitted as it is."""
    base = change.base_version.as_document() if change.base_version is not None else None
    if base is not None:
        base.name = change.framework_name  # versions keep content only; the diff names it
        base.tags = dict(change.base_tags) if change.base_tags is not None else None
    changes = document.diff(base, doc)
    errors = sum(1 for f in findings if f.severity == document.ERROR)
    return {
        "changes": changes,
        "errors": errors,
        "warnings": len(findings) - errors,
        "unchanged": not changes,
        "ready": bool(changes) and not errors,
    }


def editor_page(
    request: AuthedRequest,
    change: ChangeRequest,
    editor: FrameworkEditor,
    *,
    check: bool = True,
    stored: document.Document | None = None,
    written: document.Document | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    """The whole editor page. ``stored``: the document the forms were drawn from, to say so
    when they cannot show it exactly; ``check``: place the findings next to the fields;
    ``written``: the document the forms were drawn from when they write it back unchanged (a
    redraw), so it is not written and parsed again."""
    doc = written if written is not None else document.parse(editor.api_document())
    findings = services.change_request_findings(change, doc)
    if check:
        editor.place(findings)
    context = {
        "change": change,
        "target": change.target,
        "editor": editor,
        "urls": page_urls(change),
        "preview": diff_preview(change, doc, findings),
        "differences": None if stored is None else form_differences(editor, stored, doc),
        "notice": notice,
        "import_form": ImportForm(initial={"version": editor.version}),
    }
    return render(request, EDIT, context, status=status)


def damaged(request: AuthedRequest, change: ChangeRequest, problems: list[str]) -> HttpResponse:
    """A POST that is not this form (a forged or truncated management form, too many rows,
    characters the database cannot keep): 400, the stored draft untouched and shown."""
    notice = "The form arrived damaged, so nothing was saved: " + "; ".join(problems[:5])
    if request.htmx:
        return HttpResponse(notice, status=400, content_type="text/plain; charset=utf-8")
    doc = parse_or_none(change.working_document) or document.Document()
    editor = FrameworkEditor.from_document(
        doc, editing=editing_of(change), version=change.version, reason=change.reason
    )
    return editor_page(request, change, editor, notice=notice, status=400)


def posted_editor(request: AuthedRequest, change: ChangeRequest) -> FrameworkEditor:
    """The posted forms; a POST that is not this form is answered 400 (``damaged``)."""
    editor = FrameworkEditor.from_post(request.POST, editing=editing_of(change))
    if not editor.is_valid():
        raise Answer(damaged(request, change, editor.problems()))
    return editor


def store_draft(
    request: AuthedRequest,
    change: ChangeRequest,
    data: dict[str, Any] | None,
    version: int,
    reason: str,
    *,
    then: str = "frameworks:change-edit",
    redraw: Redraw | None = None,
) -> HttpResponse:
    """Save through the service, then redirect to ``then``. A save refused because the draft
    was saved elsewhere since the page was drawn shows what this user typed, unsaved, with the
    new version (``redraw``; by default the form): saving again is then a deliberate choice."""
    try:
        services.change_request_save_draft(
            user=request.user,
            change_id=change.pk,
            expected_version=version,
            document=data,
            reason=reason,
        )
    except services.TransitionRefused as refusal:
        if refusal.code not in ("version_conflict", "conflict"):
            raise  # answered by the view's answers_refusals
        change.refresh_from_db()
        notice = (
            f"Not saved. {refusal.message} What you typed is below: save it again to replace "
            "the other version, or reload the page to keep that one."
        )
        if redraw is not None:
            return redraw(change, notice)
        editor, doc = redrawn(data or {}, change, change.version, reason)
        return editor_page(request, change, editor, written=doc, notice=notice, status=409)
    messages.success(request, "Draft saved.")
    return redirect(then, change.pk)


def reshaped_fragment(response: HttpResponse) -> HttpResponse:
    """An htmx answer that changed the document on the page (a row added, removed, moved or
    redrawn): once it is in place the page checks itself again (``#refresh`` in the editor), so
    the preview and the readiness line never describe the document before the change."""
    return trigger_client_event(response, "editor-changed", after="settle")


def control_row_of(editor: FrameworkEditor, prefix: str) -> ControlForm | None:
    return next((form for form in editor.rows() if form.prefix == prefix), None)


# --- discard and deletion drafts --------------------------------------------------------------
