"""The editor's buttons that reshape the form: add, remove or move a row, switch a control.

None of them saves. With htmx each answers a fragment of ``frameworks/edit.html``; without
JavaScript the same URL (a button's ``formaction``) answers the whole page, redrawn from what
was posted with the change made, so typed values are never lost either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_POST

from frameworks import document
from frameworks.forms import (
    RAW_PARAMETER_CAPACITY,
    FrameworkEditor,
    control_capacity,
    management,
    new_control_form,
    new_raw_row,
    redraw_control,
)
from frameworks.models import ChangeRequest
from frameworks.views.editing import (
    CONTROL_ROW,
    EDIT,
    control_row_of,
    draft_view,
    editor_page,
    page_urls,
    posted_editor,
    redrawn,
    reshaped_fragment,
)
from frameworks.views.http import AuthedRequest


def _count(data: QueryDict, key: str) -> int | None:
    value = data.get(key, "")
    return int(value) if value.isdigit() and len(value) < 6 else None


def _reshaped(
    request: AuthedRequest,
    change: ChangeRequest,
    editor: FrameworkEditor,
    data: dict[str, Any],
    notice: str = "",
    *,
    blank_rows: Mapping[int, int] | None = None,
) -> HttpResponse:
    """The whole page after a reshaping button, without JavaScript: unsaved, not checked."""
    again, doc = redrawn(data, change, editor.version, editor.reason, blank_rows=blank_rows)
    return editor_page(request, change, again, check=False, written=doc, notice=notice)


@require_POST
@draft_view
def change_control(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """A control row drawn again: after switching its control (other typed fields) or its
    scope kind. Typed values the new control does not take become name/value rows."""
    editor = posted_editor(request, change)
    if not request.htmx:
        return _reshaped(request, change, editor, editor.api_document())
    form = control_row_of(editor, (request.htmx.target or "").removeprefix("row-"))
    if form is None:
        return HttpResponse("No such control row.", status=400)
    control = document.parse({"FrameworkControls": [form.api_control()]}).controls[0]
    context = {"form": redraw_control(control, form.prefix or ""), "change": change}
    response = render(request, f"{EDIT}#control-row", {**context, "urls": page_urls(change)})
    return reshaped_fragment(response)


@require_POST
@draft_view
def change_add_control(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """One more (empty) control row, up to what a posted form may hold."""
    capacity = control_capacity()
    if request.htmx:
        # Only the management form is posted (hx-params): the cost does not grow with the rows.
        total = _count(request.POST, "controls-TOTAL_FORMS")
        if total is None or total >= capacity:
            return HttpResponse(f"The form holds at most {capacity} controls.", status=400)
        context = {"form": new_control_form(total), "change": change, "urls": page_urls(change)}
        context["management"] = {"prefix": "controls", "total": total + 1, "max": capacity}
        return reshaped_fragment(render(request, f"{EDIT}#control-added", context))
    editor = posted_editor(request, change)
    data = editor.api_document()
    if len(data["FrameworkControls"]) >= capacity:
        return _reshaped(request, change, editor, data, f"The form holds at most {capacity}.")
    data["FrameworkControls"].append({"ControlName": ""})
    return _reshaped(request, change, editor, data)


@require_POST
@draft_view
def change_remove_control(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """With htmx the row is simply dropped from the page (the formset skips missing rows)."""
    if request.htmx:
        return reshaped_fragment(render(request, f"{EDIT}#control-removed", {}))
    editor = posted_editor(request, change)
    form = control_row_of(editor, request.POST.get("row", ""))
    if form is not None:
        form.submitted = False
    return _reshaped(request, change, editor, editor.api_document())


@require_POST
@draft_view
def change_move_control(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """Move a control up or down ("controls-3:up"). AWS keeps no order; people read one."""
    editor = posted_editor(request, change)
    prefix, _, way = request.POST.get("move", "").partition(":")
    data = editor.api_document()
    controls = data["FrameworkControls"]
    prefixes = [form.prefix for form in editor.rows()]
    if prefix in prefixes and way in ("up", "down"):
        i = prefixes.index(prefix)
        j = i - 1 if way == "up" else i + 1
        if 0 <= j < len(controls):
            controls[i], controls[j] = controls[j], controls[i]
    if not request.htmx:
        return _reshaped(request, change, editor, data)
    again, _ = redrawn(data, change, editor.version, editor.reason)
    context = {"editor": again, "change": change, "urls": page_urls(change)}
    return reshaped_fragment(render(request, f"{EDIT}#controls", context))


@require_POST
@draft_view
def change_add_parameter(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """One more name/value row in a control ("row" names the control, e.g. controls-3)."""
    prefix = request.POST.get("row", "")
    if not CONTROL_ROW.fullmatch(prefix):
        return HttpResponse("No such control row.", status=400)
    if request.htmx:
        total = _count(request.POST, f"{prefix}-params-TOTAL_FORMS")
        if total is None or total >= RAW_PARAMETER_CAPACITY:
            message = f"A control holds at most {RAW_PARAMETER_CAPACITY} name/value rows."
            return HttpResponse(message, status=400)
        params = f"{prefix}-params"
        context = {"row": new_raw_row(params, total), "change": change, "urls": page_urls(change)}
        context["management"] = management(f"mgmt-{params}", params, total + 1, oob=True)
        return reshaped_fragment(render(request, f"{EDIT}#raw-added", context))
    editor = posted_editor(request, change)
    rows = {form.prefix: (index, form) for index, form in enumerate(editor.rows())}
    index, form = rows.get(prefix, (None, None))
    if index is None or form is None or len(form.raw_rows()) >= RAW_PARAMETER_CAPACITY:
        notice = f"A control holds at most {RAW_PARAMETER_CAPACITY} name/value rows."
        return _reshaped(request, change, editor, editor.api_document(), notice)
    return _reshaped(request, change, editor, editor.api_document(), blank_rows={index: 1})


@require_POST
@draft_view
def change_remove_parameter(request: AuthedRequest, change: ChangeRequest) -> HttpResponse:
    """With htmx the row is simply dropped from the page, like a control row."""
    if request.htmx:
        return reshaped_fragment(render(request, f"{EDIT}#control-removed", {}))
    editor = posted_editor(request, change)
    target = request.POST.get("row", "")
    for form in editor.rows():
        for row in form.raw_rows():
            if row.prefix == target:
                row.submitted = False
    return _reshaped(request, change, editor, editor.api_document())
