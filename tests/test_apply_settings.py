"""The Celery settings that keep an approved change from being lost or run twice, checked
together: each is only right in relation to the others."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from config.celery import app
from frameworks import tasks


def test_messages_survive_a_worker_that_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert tasks.apply_change.acks_late is True
    assert tasks.apply_change.reject_on_worker_lost is True


def test_the_visibility_timeout_outlasts_the_longest_retry_delay_plus_a_run():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    longest_run = max(tasks.apply_change.time_limit, app.conf.task_time_limit)
    assert visibility > settings.APPLY_RETRY_MAX_DELAY_SECONDS + longest_run


def test_a_run_fits_in_its_time_limits_and_its_lease_outlasts_one_request():
    one_request = settings.AWS_CONNECT_TIMEOUT + settings.AWS_READ_TIMEOUT
    # describe + the call + polling until the wait is over (plus the describe started last)
    run = settings.APPLY_DEPLOYMENT_WAIT_SECONDS + 3 * one_request
    assert tasks.apply_change.soft_time_limit > run
    assert tasks.apply_change.time_limit > tasks.apply_change.soft_time_limit
    # A run renews its lease between requests: the lease must outlast the longest of them.
    assert one_request < settings.APPLY_LEASE_SECONDS


def test_retries_are_bounded_in_number_and_time():
    assert 1 <= settings.APPLY_MAX_ATTEMPTS <= tasks.apply_change.max_retries
    assert settings.APPLY_RETRY_MAX_DELAY_SECONDS < settings.APPLY_MAX_SECONDS


def test_beat_runs_the_reconciler_every_interval_and_drops_stale_ticks():
    entry = app.conf.beat_schedule["reconcile-changes"]
    assert entry["task"] == "frameworks.tasks.reconcile"
    assert entry["schedule"] == settings.RECONCILE_INTERVAL_SECONDS == 15.0
    assert entry["options"]["expires"] == settings.RECONCILE_INTERVAL_SECONDS


def test_sync_and_the_reconciler_have_a_queue_of_their_own():
    routes = app.conf.task_routes
    control = settings.CELERY_CONTROL_QUEUE
    assert control and control != app.conf.task_default_queue
    assert routes["frameworks.tasks.reconcile"] == {"queue": control}
    assert routes["frameworks.tasks.sync_frameworks"] == {"queue": control}
    assert "frameworks.tasks.apply_change" not in routes  # applies stay on the default queue
    # A lost change comes back within about a minute with the defaults, however the broker
    # lost it: the shortest requeue wait plus one reconciler interval.
    assert settings.APPLY_REQUEUE_MIN_SECONDS + settings.RECONCILE_INTERVAL_SECONDS <= 60
    assert settings.APPLY_STAGE_HOOK_DIR == ""  # chaos hooks are off unless a test sets them


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("APPLY_", "CELERY_", "AWS_"))}
    clean.update(SECRET_KEY="x" * 50, **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; "
            "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], "
            "s.APPLY_TASK_TIME_LIMIT)",
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_visibility_timeout_follows_the_settings_it_depends_on(tmp_path):
    done = _settings_with(
        DATA_DIR=str(tmp_path),
        APPLY_DEPLOYMENT_WAIT_SECONDS="3600",
        APPLY_RETRY_MAX_DELAY_SECONDS="900",
    )
    assert done.returncode == 0, done.stderr
    visibility, time_limit = map(int, done.stdout.split())
    assert visibility > 900 + time_limit > 3600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CELERY_VISIBILITY_TIMEOUT": "600"}, "CELERY_VISIBILITY_TIMEOUT (600) must be longer"),
        ({"APPLY_LEASE_SECONDS": "10"}, "APPLY_LEASE_SECONDS (10.0) must be longer"),
        ({"APPLY_POLL_INTERVAL_SECONDS": "soon"}, "APPLY_POLL_INTERVAL_SECONDS must be a number"),
        ({"APPLY_MAX_ATTEMPTS": "0"}, "APPLY_MAX_ATTEMPTS must be at least 1"),
    ],
)
def test_settings_that_would_lose_or_double_a_change_stop_the_process(tmp_path, env, message):
    done = _settings_with(DATA_DIR=str(tmp_path), **env)
    assert done.returncode != 0
    assert message in done.stderr


def test_the_demo_keeps_its_filesystem_broker(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; o = s.CELERY_BROKER_TRANSPORT_OPTIONS; "
            "print(s.CELERY_BROKER_URL, o['data_folder_in'], o['visibility_timeout'] > 0)",
        ],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("CELERY_")},
            "DEBUG": "1",
            "DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["filesystem://", str(tmp_path / "broker" / "queue"), "True"]
