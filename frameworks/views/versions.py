"""A framework as it was: its versions, its document at any date, the diff between two of its
versions, and "start a change from this version". Viewing needs the view role on the target;
starting a change, the editor's (the service decides)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from frameworks import access, document, services
from frameworks.forms.versions import AsOfForm, CompareForm
from frameworks.models import Framework, Target
from frameworks.queries import versions
from frameworks.views.diffs import document_side, side_by_side
from frameworks.views.http import AuthedRequest
from frameworks.views.refusals import answers_refusals

PAGE = "frameworks/versions.html"


def _target_for(request: AuthedRequest, slug: str) -> Target:
    """The target; the same 404 whether there is none or the person has no role on it."""
    target = Target.objects.filter(slug=slug).first()
    access.require_visible(request.user, target)
    assert target is not None
    return target


def _as_of(target: Target, name: str, form: AsOfForm) -> dict[str, Any]:
    """The as-of section: the form, and the document then when the form holds a time."""
    if not form.is_bound or not form.is_valid():
        return {"form": form}
    at = form.cleaned_data["at"]
    row = versions.version_at(target, name, at)
    shown = versions.document_of(row, name) if row is not None else None
    return {
        "form": form,
        "at": at,
        "shown": shown,
        "side": document_side(shown.document) if shown else [],
    }


@require_GET
@vary_on_headers("HX-Request")  # the browser must not reuse the fragment for the whole page
def framework_versions(request: AuthedRequest, target: str, name: str) -> HttpResponse:
    """The versions page: the framework's document at the date asked (GET ``at``), and every
    version AWS held, to compare two or start a change from one. htmx swaps the document in."""
    target_obj = _target_for(request, target)
    form = AsOfForm(request.GET if "at" in request.GET else None)
    context = {"target": target_obj, "name": name, **_as_of(target_obj, name, form)}
    # Going back to a pushed address asks for the whole page again (a history restore).
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{PAGE}#as-of", context)
    rows = versions.framework_versions(target_obj, name)
    if not rows and not Framework.objects.filter(target=target_obj, name=name).exists():
        raise Http404("No such framework.")
    for row in rows:
        # "As it was then": the end of the second the row was written, what a link can say.
        row.shown_at = (row.created_at + timedelta(seconds=1)).replace(microsecond=0)  # type: ignore[attr-defined]
    context["rows"] = rows
    return render(request, PAGE, context)


@require_GET
def framework_compare(request: AuthedRequest, target: str, name: str) -> HttpResponse:
    """The semantic diff from one version to another (GET ``a`` and ``b``, history row ids),
    drawn as the change page draws a change."""
    target_obj = _target_for(request, target)
    form = CompareForm(request.GET)
    context: dict[str, Any] = {"target": target_obj, "name": name, "form": form}
    if not form.is_valid():
        return render(request, "frameworks/compare.html", context, status=400)
    a, b = form.cleaned_data["a"], form.cleaned_data["b"]
    found = versions.version_rows(target_obj, name, [a, b])
    if a not in found or b not in found:
        raise Http404("No such version of this framework.")
    old, new = versions.document_of(found[a], name), versions.document_of(found[b], name)
    changes = document.diff(old.document, new.document)
    context.update(old=old, new=new, changes=changes)
    context["sides"] = side_by_side(old.document, new.document, changes)
    return render(request, "frameworks/compare.html", context)


@require_POST
@answers_refusals
def framework_start_from_version(
    request: AuthedRequest, target: str, name: str, row: int
) -> HttpResponse:
    """A new draft whose proposal is the version history row ``row`` saw. The service checks
    who may, and records a refusal; to someone with no role on the target it does not exist."""
    target_obj = Target.objects.filter(slug=target).first()
    if target_obj is None:
        raise Http404(access.NOT_FOUND)
    change = services.change_request_start_from_version(
        user=request.user, target_id=target_obj.pk, framework_name=name, row_id=row
    )
    messages.success(
        request,
        f"Draft #{change.pk} proposes {name} as it was in version {row}; check it and submit "
        "it for review.",
    )
    return redirect("frameworks:change-detail", change.pk)
