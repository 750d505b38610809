"""gunicorn's configuration (`gunicorn -c config/gunicorn.py config.wsgi`): the image's web
process. Every value can be set from the environment by gunicorn itself (GUNICORN_CMD_ARGS)."""

from __future__ import annotations

import os
from typing import Any

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Longer than one AWS call (connect + read timeouts): "Sync now" and "Test the connection" run
# in the request.
timeout = 60
graceful_timeout = 30
accesslog = "-"
errorlog = "-"


# The settings are checked by the master before any worker starts: a configuration error is
# one line and one exit, not workers failing to boot in a loop.
def on_starting(server: Any) -> None:
    from config.startup import load_settings

    load_settings()
