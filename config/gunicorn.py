"""gunicorn's settings, as the image runs the web: `gunicorn -c config/gunicorn.py`.

gthread workers: a worker's main thread keeps telling the arbiter it is alive while its threads
serve requests, so a long streamed download (a history export, an evidence pack) is not killed
at `timeout` the way a sync worker blocked in one request would be. `timeout` then only catches
a worker that is truly stuck.
"""

from __future__ import annotations

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
accesslog = "-"
