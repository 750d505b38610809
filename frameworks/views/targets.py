"""The administrators' target pages: list, add, change, retire, test the connection.

Views read input and call the target services, which decide who may do what and record every
refusal; a refusal because of who asked is a 403 with its sentence, any other is shown on the
page, nothing having changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frameworks import access, queries, services
from frameworks.access import Action
from frameworks.forms import RetireForm, named_errors
from frameworks.forms.targets import TargetForm
from frameworks.models import Target
from frameworks.views.http import AuthedRequest


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    context = {"message": message, "recorded": False}
    return render(request, "frameworks/refused.html", context, status=403)


def _get_target(request: AuthedRequest, slug: str) -> Target | None:
    """The target, or None when this user sees it but does not administer it; 404 if there is
    none or this user has no role on it (``access.require_visible``)."""
    target = Target.objects.filter(slug=slug).first()
    access.require_visible(request.user, target)
    assert target is not None
    return target if access.can(request.user, Action.MANAGE, target) else None


@require_GET
def target_list(request: AuthedRequest) -> HttpResponse:
    if not access.can_anywhere(request.user, Action.MANAGE):
        return _forbidden(request, "Only administrators manage targets.")
    context = {
        "targets": list(queries.managed_targets(request.user)),
        "can_add": access.can(request.user, Action.MANAGE, None),
    }
    return render(request, "targets/list.html", context)


@require_http_methods(["GET", "POST"])
def target_new(request: AuthedRequest) -> HttpResponse:
    if not access.can(request.user, Action.MANAGE, None):
        return _forbidden(request, "Only administrators of every target may add targets.")
    form = TargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            target = services.target_add(user=request.user, values=form.values())
        except services.PermissionRefused as refusal:
            return _forbidden(request, refusal.message)
        except services.TransitionRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"Added {target}. Test its connection next.")
            return redirect("frameworks:target-detail", target.slug)
    return render(request, "targets/form.html", {"form": form, "target": None})


@require_GET
def target_detail(request: AuthedRequest, slug: str) -> HttpResponse:
    target = _get_target(request, slug)
    if target is None:
        return _forbidden(request, "Only administrators of this target may see its settings.")
    context = {"target": target, "rows": queries.target_history(target)}
    return render(request, "targets/detail.html", context)


@require_http_methods(["GET", "POST"])
def target_edit(request: AuthedRequest, slug: str) -> HttpResponse:
    target = _get_target(request, slug)
    if target is None:
        return _forbidden(request, "Only administrators of this target may change it.")
    if target.retired:
        messages.error(request, f"{target} is retired; it cannot be changed.")
        return redirect("frameworks:target-detail", target.slug)
    # The form works on a copy, so a refused change leaves `target` as stored.
    form = TargetForm(request.POST or None, instance=Target.objects.get(pk=target.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.target_change(user=request.user, target_id=target.pk, values=form.values())
        except services.PermissionRefused as refusal:
            return _forbidden(request, refusal.message)
        except services.TransitionRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"Saved {target.slug}.")
            return redirect("frameworks:target-detail", target.slug)
    return render(request, "targets/form.html", {"form": form, "target": target})


@require_POST
def target_retire(request: AuthedRequest, slug: str) -> HttpResponse:
    target = _get_target(request, slug)
    if target is None:
        return _forbidden(request, "Only administrators of this target may retire it.")
    form = RetireForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was done. " + " ".join(named_errors(form)))
        return redirect("frameworks:target-detail", target.slug)
    try:
        services.target_retire(
            user=request.user, target_id=target.pk, reason=form.cleaned_data["reason"]
        )
    except services.PermissionRefused as refusal:
        return _forbidden(request, refusal.message)
    except services.TransitionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Retired {target}: it is no longer synced or offered.")
    return redirect("frameworks:target-detail", target.slug)


@require_POST
def target_test(request: AuthedRequest, slug: str) -> HttpResponse:
    target = _get_target(request, slug)
    if target is None:
        return _forbidden(request, "Only administrators of this target may test it.")
    try:
        result = services.target_test_connection(user=request.user, target_id=target.pk)
    except services.PermissionRefused as refusal:
        return _forbidden(request, refusal.message)
    except services.TransitionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        (messages.success if result.ok else messages.error)(request, str(result))
    return redirect("frameworks:target-detail", target.slug)
