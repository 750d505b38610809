"""The login page (passwords, the identity provider, or both) and the OpenID Connect views,
open to people not yet signed in and absent (404) when no provider is configured."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)


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
    return auth_views.LoginView.as_view(extra_context=context)(request)


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
    return OIDCAuthenticationCallbackView.as_view()(request)
