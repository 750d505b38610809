"""Start-up of every entry point (manage.py, WSGI, Celery): load the settings, and when the
configuration is wrong say so in one line naming the variable, instead of a traceback whose one
useful line is the last."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

#: The exit status of a process stopped by its configuration (EX_CONFIG in sysexits.h).
EXIT_CONFIG = 78


def load_settings() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading a setting is what imports the module
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.stderr.flush()
        # os._exit, not SystemExit: gunicorn and Celery would print a traceback around it.
        os._exit(EXIT_CONFIG)
