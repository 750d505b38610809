"""The Celery application: one image runs web, worker and beat; this is their entry point."""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery
from celery.signals import beat_init, task_postrun, task_prerun, worker_init

from config.startup import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
load_settings()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folders(sender: Celery, **kwargs: object) -> None:
    """kombu's filesystem transport expects its folders to exist. (After configuration: reading
    the configuration from inside ``on_configure`` loads it again, recursively.)"""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@worker_init.connect
@beat_init.connect
def _warn_if_privileged(**kwargs: object) -> None:
    """Workers and beat log a warning when connected as a superuser or the history's owner."""
    from frameworks.dbroles import warn_if_privileged

    warn_if_privileged()


@beat_init.connect
def _checkpoint_as_beat_starts(**kwargs: object) -> None:
    """Beat anchors the history as it starts, not one interval later: after a deploy or a
    restart the chain would otherwise go unanchored for the downtime plus a whole interval (and
    the audit page would say no checkpoint exists). Beat sends it, so there is still one writer."""
    from django.conf import settings

    from frameworks.tasks import history_checkpoint

    history_checkpoint.apply_async(expires=float(settings.HISTORY_CHECKPOINT_SECONDS))


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: object = None, **kwargs: object) -> None:
    """Before and after each task, what Django does before and after each request: close the
    connections that are past CONN_MAX_AGE or unusable, keep the others (settings'
    CELERY_DB_REUSE_MAX). A task run eagerly, inside the caller's transaction, is left alone."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
