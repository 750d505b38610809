"""Pages. Each view asks access.py before it reads or changes anything."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from frameworks import access, document, queries, services
from frameworks.access import Action
from frameworks.document.catalog import CONTROLS
from frameworks.models import Framework, Target
from frameworks.views.http import AuthedRequest


def _get_target_for(request: AuthedRequest, slug: str, action: Action) -> Target:
    """The target; 404 if it does not exist or this user has no role on it
    (``access.require_visible``), 403 if they may see it but not do `action` to it."""
    target = Target.objects.filter(slug=slug).first()
    access.require_visible(request.user, target)
    assert target is not None
    access.require(request.user, action, target)
    return target


@require_GET
def framework_list(request: AuthedRequest) -> HttpResponse:
    if not access.has_any_role(request.user):
        raise PermissionDenied("You have no role on any AWS account yet. Ask an administrator.")
    filters = queries.FrameworkFilters.of(request.GET)
    listing = queries.framework_list(request.user, filters)
    sorts = [(key, label) for key, (label, _) in queries.FRAMEWORK_SORTS.items()]
    context = {"listing": listing, "groups": listing.groups, "filters": filters, "sorts": sorts}
    return render(request, "frameworks/list.html", context)


def _before(request: AuthedRequest) -> int | None:
    """The history cursor: rows older than this id. Anything else reads as the first page."""
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@require_GET
def framework_detail(request: AuthedRequest, target: str, name: str) -> HttpResponse:
    # The framework and its target in one query; the same 404 when there is none and when this
    # user has no role on its target.
    found = Framework.objects.select_related("target").filter(target__slug=target, name=name)
    framework = found.first()
    access.require_visible(request.user, framework.target if framework is not None else None)
    assert framework is not None
    target_obj = framework.target
    page = queries.framework_page(target_obj, name, before=_before(request))
    if request.htmx:
        return render(request, "frameworks/detail.html#history", {"page": page})
    doc = document.parse(framework.api_document())
    recording = target_obj.recording
    controls = [
        {
            "index": index,
            "control": control,
            "spec": CONTROLS.get(control.name),
            "parameters": [
                {
                    "parameter": p,
                    "words": document.describe_parameter(
                        control.name, p, siblings=control.parameters
                    ),
                }
                for p in control.parameters
            ],
            "scope_words": document.describe_scope(control.scope),
            "defaults": queries.defaults_of(control),
            "unrecorded": document.type_words(document.unrecorded(control, recording))
            if recording is not None
            else "",
        }
        for index, control in enumerate(doc.controls, start=1)
    ]
    context = {
        "target": target_obj,
        "framework": framework,
        "controls": controls,
        "page": page,
        "tags": sorted((framework.tags or {}).items()),
        "status_words": document.framework_status_words(framework.framework_status),
        "recording_words": document.recording_words(doc, recording, target_obj.region)
        if recording is not None
        else "",
    }
    context["open_changes"] = queries.open_changes(target_obj, name)
    return render(request, "frameworks/detail.html", context)


@require_POST
def target_sync(request: AuthedRequest, target: str) -> HttpResponse:
    """Sync one target now, in the request.

    A target holds at most its quota of frameworks (15 by default), so this is a bounded number
    of calls; the target's lease keeps it from overlapping with beat's sync.
    """
    target_obj = _get_target_for(request, target, Action.SYNC)
    result = services.target_sync(target_id=target_obj.pk)
    if result.error:
        messages.error(
            request,
            f"Sync of {target_obj} failed: {result.error.words} "
            f"(AWS said {result.error.code}: {result.error.message})",
        )
    elif result.skipped:
        messages.info(request, f"A sync of {target_obj} is already running.")
    else:
        messages.success(request, f"Synced {result}.")
    return redirect("frameworks:list")
