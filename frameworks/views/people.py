"""The administrators' People pages: everyone and their roles, one person's page (grant and
remove roles, deactivate or reactivate, reset the password), a new person, and the second
administrator's confirm or decline of access changes.

Views read input and call the access services, which decide who may do what and record every
refusal; a refusal because of who asked is a 403 with its sentence, any other is a message on
the person's page, nothing having changed. Plain forms that post and redirect: no script needed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frameworks import access, queries, segregation, services
from frameworks.access import Action
from frameworks.forms.people import GrantForm, PasswordForm, PersonForm
from frameworks.models import AccessChange
from frameworks.queries import people as people_queries
from frameworks.views.http import AuthedRequest
from frameworks.views.refusals import forbidden


def admins_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only administrators (of any target) reach a People view; anyone else gets the same 403
    before anything is looked up, so it says nothing about which people or changes exist."""

    @functools.wraps(view)
    def guarded(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.can_anywhere(request.user, Action.MANAGE):
            return forbidden(request, "Only administrators see the people and their roles.")
        return view(request, *args, **kwargs)

    return guarded


def _grant_form(request: AuthedRequest, data: Any = None) -> GrantForm:
    targets = [t for t in queries.managed_targets(request.user) if not t.retired]
    everywhere = access.can(request.user, Action.MANAGE, None)
    return GrantForm(data, targets=targets, everywhere=everywhere)


@require_GET
@admins_only
def people_list(request: AuthedRequest) -> HttpResponse:
    pending = people_queries.pending_changes(request.user)
    context = {
        "people": people_queries.people(request.user),
        "pending": [(c, services.may_confirm(request.user, c)) for c in pending],
        "can_create": access.can(request.user, Action.MANAGE, None),
        "unguarded": segregation.unguarded(
            [t for t in queries.managed_targets(request.user) if not t.retired]
        ),
    }
    return render(request, "people/list.html", context)


@require_http_methods(["GET", "POST"])
def person_new(request: AuthedRequest) -> HttpResponse:
    if not access.can(request.user, Action.MANAGE, None):
        return forbidden(request, "Only administrators of every target may create accounts.")
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.person_create(
                user=request.user, values=form.values(), password=form.cleaned_data["password"]
            )
        except services.PermissionRefused as refusal:
            return forbidden(request, refusal.message, recorded=True)
        except services.TransitionRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _done(change, f"Created {change.subject}."))
            return redirect("frameworks:person-detail", change.subject_id)
    return render(request, "people/new.html", {"form": form})


@require_GET
@admins_only
def person_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    person = people_queries.person(request.user, pk)
    if person is None:
        raise Http404("There is no such person.")
    changes = people_queries.person_access_changes(person.user)
    everywhere = access.can(request.user, Action.MANAGE, None)
    context = {
        "person": person,
        "changes": [(c, services.may_confirm(request.user, c)) for c in changes],
        "grant_form": _grant_form(request),
        "password_form": PasswordForm(),
        "is_me": person.user.pk == request.user.pk,
        "can_account": everywhere and not person.user.is_superuser,
        "can_remove_everywhere": everywhere,
    }
    return render(request, "people/detail.html", context)


def _done(change: AccessChange | None, done: str, nothing: str = "Nothing to change.") -> str:
    if change is None:
        return nothing
    if change.state == "pending":
        return f"Asked for: {change.words}. It waits for a second administrator to confirm it."
    return done


def _act(request: AuthedRequest, pk: int, act: Callable[[], str]) -> HttpResponse:
    """Run a service for the person `pk`'s page and come back to it with its news."""
    try:
        news = act()
    except services.PermissionRefused as refusal:
        return forbidden(request, refusal.message, recorded=True)
    except services.TransitionRefused as refusal:
        if refusal.code == "not_found":
            raise Http404(refusal.message) from None
        messages.error(request, refusal.message)
    else:
        messages.success(request, news)
    return redirect("frameworks:person-detail", pk)


@require_POST
def person_grant(request: AuthedRequest, pk: int) -> HttpResponse:
    if not access.can_anywhere(request.user, Action.MANAGE):
        return forbidden(request, "Only administrators grant roles.")
    form = _grant_form(request, request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role and where it applies.")
        return redirect("frameworks:person-detail", pk)

    def act() -> str:
        change = services.role_grant(
            user=request.user,
            person_id=pk,
            role=form.cleaned_data["role"],
            target_id=form.target_id(),
        )
        return _done(change, f"Done: {change.words if change else ''}.", "They hold it already.")

    return _act(request, pk, act)


@require_POST
@admins_only
def person_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    raw = request.POST.get("target", "")
    if raw and not raw.isdigit():
        raise Http404("There is no such target.")
    target_id = int(raw) if raw else None

    def act() -> str:
        change = services.role_remove(
            user=request.user,
            person_id=pk,
            role=request.POST.get("role", ""),
            target_id=target_id,
        )
        return _done(change, f"Done: {change.words if change else ''}.", "They did not hold it.")

    return _act(request, pk, act)


@require_POST
@admins_only
def person_deactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    def act() -> str:
        change = services.person_deactivate(user=request.user, person_id=pk)
        return _done(change, "Deactivated: they can no longer sign in.", "Already inactive.")

    return _act(request, pk, act)


@require_POST
@admins_only
def person_reactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    def act() -> str:
        change = services.person_reactivate(user=request.user, person_id=pk)
        return _done(change, "Reactivated: they can sign in again.", "Already active.")

    return _act(request, pk, act)


@require_POST
@admins_only
def person_password(request: AuthedRequest, pk: int) -> HttpResponse:
    form = PasswordForm(request.POST)
    if not form.is_valid():
        messages.error(request, "New temporary password: enter one.")
        return redirect("frameworks:person-detail", pk)

    def act() -> str:
        change = services.person_reset_password(
            user=request.user, person_id=pk, password=form.cleaned_data["password"]
        )
        return _done(change, "Password reset: hand the temporary password to them.")

    return _act(request, pk, act)


def _decide(request: AuthedRequest, pk: int, confirm: bool) -> HttpResponse:
    change = AccessChange.objects.filter(pk=pk).values_list("subject_id", flat=True).first()
    if change is None:
        raise Http404("There is no such access change.")

    def act() -> str:
        if confirm:
            done = services.access_change_confirm(user=request.user, change_id=pk)
            return f"Confirmed: {done.words}."
        done = services.access_change_decline(user=request.user, change_id=pk)
        return f"Declined: {done.words}."

    back = request.POST.get("back") == "list"
    response = _act(request, change, act)
    return redirect("frameworks:people") if back and response.status_code == 302 else response


@require_POST
@admins_only
def access_change_confirm(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, True)


@require_POST
@admins_only
def access_change_decline(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, False)
