"""Sign-in's plumbing: the client's address, recording what django-axes and Django's
authentication report, and signing people out after a time without activity.

The services in ``frameworks.services.signin`` write the history; the receivers here only pass
them what the signals carry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from frameworks.services.signin import signin_record_failure, signin_record_lockout

#: The session key holding the time of the person's last request (seconds since the epoch).
LAST_SEEN = "signin_last_seen"


def client_address(request: HttpRequest) -> str | None:
    """The address sign-in throttling keys on. Behind SIGNIN_TRUSTED_PROXIES proxies, each
    appending to X-Forwarded-For, the client is the entry that many places from the right;
    entries further left are whatever the client sent, and never trusted."""
    proxies = settings.SIGNIN_TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:45]
    return request.META.get("REMOTE_ADDR")


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or client_address(request)


#: Set on a request whose failed sign-in has been counted: django-axes may report the lockout
#: it caused before or after Django's failure signal reaches this module.
_COUNTED = "_signin_failure_counted"


def _count_failure(request: HttpRequest | None, username: str) -> None:
    if request is not None:
        if getattr(request, _COUNTED, False):
            return
        setattr(request, _COUNTED, True)
    signin_record_failure(username=username[:150], address=_address(request))


@receiver(user_login_failed)
def _record_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = credentials.get("username")
    # No user name: the identity provider's callback failing, not a password guessed.
    if not username:
        return
    _count_failure(request, str(username))


@receiver(user_locked_out)
def _record_lockout(
    sender: object, request: HttpRequest, username: str | None, ip_address: str | None, **kw: Any
) -> None:
    # The attempt that caused the lockout counts in the row that records it.
    _count_failure(request, str(username or ""))
    signin_record_lockout(username=str(username or "")[:150], address=ip_address)


@receiver(user_logged_in)
def _start_idle_clock(sender: object, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN] = int(time.time())


class IdleTimeoutMiddleware:
    """Sign a person out after SESSION_IDLE_SECONDS without a request.

    The time of the last request is kept in the session, but rewritten only when it is more
    than a minute (or a tenth of the limit) old, so a busy person does not make every request
    write the session; the limit is therefore kept to within that step.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            limit = settings.SESSION_IDLE_SECONDS
            now = int(time.time())
            last = request.session.get(LAST_SEEN)
            if isinstance(last, int) and now - last > limit:
                logout(request)
            elif not isinstance(last, int) or now - last >= min(60, limit // 10):
                request.session[LAST_SEEN] = now
        return self.get_response(request)
