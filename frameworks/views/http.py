"""The request every view receives, typed: ``LoginRequiredMiddleware`` has already turned away
anyone not logged in (so ``user`` is a ``User``), and ``HtmxMiddleware`` has set ``htmx``.
Not a view module: routed views import it, as django-htmx suggests (``HtmxHttpRequest``)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthedRequest(HttpRequest):
    user: User  # narrowed from User | AnonymousUser by LoginRequiredMiddleware
    htmx: HtmxDetails
