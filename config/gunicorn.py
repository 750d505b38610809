"""gunicorn's settings, as the image runs the web: `gunicorn -c config/gunicorn.py`.

gthread workers: a worker's main thread keeps telling the arbiter it is alive while its threads
serve requests, so a long request (a sync now, a connection test, a history export, an evidence
pack) is not killed at `timeout` the way a sync worker blocked in one request would be. `timeout`
then only catches a worker that is truly stuck.
"""

from __future__ import annotations

import os
from typing import Any

wsgi_app = "config.wsgi:application"
bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
accesslog = "-"


def on_starting(server: Any) -> None:
    """Check the settings in the master, before any worker starts: a configuration error is
    one line and one exit, not workers failing to boot in a loop."""
    from config.startup import load_settings

    load_settings()
