"""The WSGI entry point (gunicorn config.wsgi)."""

from __future__ import annotations

from django.core.wsgi import get_wsgi_application

from config.startup import load_settings

load_settings()
application = get_wsgi_application()

# Say so in the log when the web connects as a superuser or the history's owner.
from frameworks.dbroles import warn_if_privileged  # noqa: E402 - needs the apps loaded

warn_if_privileged()
