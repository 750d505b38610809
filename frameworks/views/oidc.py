"""The login page (passwords, the identity provider, or both) and the OpenID Connect views,
open to people not yet signed in and absent (404) when no provider is configured."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from frameworks.services import signin_record_success
from frameworks.signin import client_address


@login_not_required
def login(request: HttpRequest) -> HttpResponseBase:
    context = {
        "oidc_enabled": settings.OIDC_ENABLED,
        "oidc_provider_name": settings.OIDC_PROVIDER_NAME,
        "local_passwords": settings.LOCAL_PASSWORDS,
        "sso_failed": request.GET.get("sso") == "failed",
    }
    if request.method == "POST" and not settings.LOCAL_PASSWORDS:
        return HttpResponse("Passwords are turned off: sign in through the provider.", status=403)
    return _PasswordLogin.as_view(extra_context=context)(request)


class _PasswordLogin(auth_views.LoginView):
    """Django's login view; a successful sign-in is written to the history."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        signin_record_success(user=form.get_user(), address=client_address(self.request))
        return response


def _require_oidc() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("Sign-in through an identity provider is not configured.")


@login_not_required
def authenticate(request: HttpRequest) -> HttpResponseBase:
    _require_oidc()
    return OIDCAuthenticationRequestView.as_view()(request)


@login_not_required
def callback(request: HttpRequest) -> HttpResponseBase:
    _require_oidc()
    was_signed_in = request.user.is_authenticated
    response = OIDCAuthenticationCallbackView.as_view()(request)
    if request.user.is_authenticated and not was_signed_in:
        signin_record_success(user=request.user, address=client_address(request))
    return response


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE, when an account is locked out for this address: a
    plain page (429) saying for how long, never the password form again."""
    context = {
        "failure_limit": settings.SIGNIN_FAILURE_LIMIT,
        "cooloff_minutes": settings.SIGNIN_COOLOFF_MINUTES,
    }
    return render(request, "registration/locked_out.html", context, status=429)
