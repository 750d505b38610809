"""How a view answers when it cannot go on: the one decorator that turns a service's refusal
into a response, and ``Answer`` for a helper that has the response already (a damaged form).

A refusal because of who asked (``PermissionRefused``, recorded by the service) is a 403 with
its sentence, except to someone with no role on the target it is about: to them it is the same
404 as for a change or framework that does not exist (``access.require_visible``), so nothing
tells them what exists; one naming a change that does not exist, a 404; any other (wrong state, no
reason, a proposal that moved on) is its sentence as a message on the page of the change (or
of the framework) it was about, nothing having changed. Not a view module: routes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from frameworks import access, services
from frameworks.access import Action
from frameworks.views.http import AuthedRequest

P = ParamSpec("P")

# Refusals that are news rather than errors: the draft one opened has moved on.
_NEWS = frozenset({"not_draft"})


class Answer(Exception):
    """Raised by a helper that knows the answer already (a damaged form: 400); the view's
    ``answers_refusals`` returns it."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def forbidden(request: AuthedRequest, message: str, *, recorded: bool = False) -> HttpResponse:
    """403 with a sentence saying why (and whether the attempt went into the history)."""
    context = {"message": message, "recorded": recorded}
    return render(request, "frameworks/refused.html", context, status=403)


def go(request: AuthedRequest, url: str) -> HttpResponse:
    """To `url`: an htmx request is sent there whole, not given a page to swap in."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _page_of(request: AuthedRequest, refusal: services.TransitionRefused) -> str:
    call = refusal.call
    change_id = call.change_id if call is not None else None
    if change_id is None and request.resolver_match is not None:
        change_id = request.resolver_match.kwargs.get("pk")  # the change the URL names
    if change_id is not None:
        return reverse("frameworks:change-detail", args=[change_id])
    if call is not None and call.target is not None and call.framework_name:
        return reverse("frameworks:detail", args=[call.target.slug, call.framework_name])
    return reverse("frameworks:list")


def _outside(request: AuthedRequest, refusal: services.PermissionRefused) -> bool:
    """Whether the refused user has no role on the target the refusal is about."""
    if refusal.code == "no_role":
        return True
    target = refusal.call.target if refusal.call is not None else None
    return target is not None and not access.can(request.user, Action.VIEW, target)


def answers_refusals(
    view: Callable[Concatenate[AuthedRequest, P], HttpResponse],
) -> Callable[Concatenate[AuthedRequest, P], HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: AuthedRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Answer as answer:
            return answer.response
        except services.PermissionRefused as refusal:
            if _outside(request, refusal):
                raise Http404(access.NOT_FOUND) from None
            return forbidden(request, refusal.message, recorded=True)
        except services.TransitionRefused as refusal:
            if refusal.code == "not_found":
                raise Http404(access.NOT_FOUND) from None
            add = messages.info if refusal.code in _NEWS else messages.error
            add(request, refusal.message)
            return go(request, _page_of(request, refusal))

    return wrapped
