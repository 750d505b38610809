"""Sync and the reconciler run on a queue of their own, taken by a worker that never runs
applies: with hundreds of apply messages queued and every apply process busy polling a
deployment, a change whose worker died is handed back, and a sync runs, at once.

Two real worker processes (tests/worker.py) as the Procfile runs them: "worker" on the apply
queue, "control" (with beat) on the control queue; PostgreSQL and Redis shared with the test."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings

from frameworks import services, tasks
from frameworks.models import ChangeRequest, Event, HistoryEvent, Target
from tests.applying import approve, draft_updates
from tests.worker import celery_worker, control_queue, routed_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

BACKLOG = 300


@pytest.fixture(autouse=True)
def _quick_users(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_reconciler_and_sync_run_on_time_behind_a_deep_apply_queue(
    tmp_path, aws_files, emulator_server, target, editor, approver, emulator
):
    emulator.control.configure(max_frameworks=500, max_controls=5000)
    *busy, orphan = draft_updates(target, editor, 3)
    # A long lease: the busy runs must stay busy (not be handed back) for the whole test.
    apply_worker = celery_worker(
        tmp_path / "apply",
        aws_files=aws_files,
        concurrency=2,
        beat=False,
        consume="apply",
        APPLY_LEASE_SECONDS="120",
    )
    with apply_worker as applies, routed_to(applies.queue):
        # Both apply processes stop inside a run (polling its deployment) and stay busy.
        for change in busy:
            applies.arm("polling", change.pk)
            approve(change, editor, approver)
        applies.wait_reached("polling", count=2)
        # Hundreds of apply messages wait behind them.
        for n in range(BACKLOG):
            tasks.apply_change.delay(10_000_000 + n)
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        assert broker.llen(applies.queue) >= BACKLOG
        # A change whose worker died after claiming it: its lease runs out in a second.
        services.change_request_claim(
            change_id=approve(orphan, editor, approver).pk,
            worker="elsewhere:1:dead",
            lease_seconds=1,
            max_attempts=4,
        )
        before = Target.objects.get(pk=target.pk).last_synced_at
        control_worker = celery_worker(
            tmp_path / "control",
            queue=applies.queue,
            aws_files=aws_files,
            consume="control",
            RECONCILE_INTERVAL_SECONDS="0.5",
        )
        with control_worker as control:
            started = time.monotonic()
            tasks.sync_frameworks.apply_async(queue=control_queue(applies.queue))
            while not (
                HistoryEvent.objects.filter(
                    change_request_id=orphan.pk, event=Event.LEASE_EXPIRED
                ).exists()
                and Target.objects.get(pk=target.pk).last_synced_at != before
            ):
                assert time.monotonic() - started < 10, control.tail()
                time.sleep(0.05)
            took = time.monotonic() - started
            # Every apply process is still busy and the backlog still waits.
            assert broker.llen(applies.queue) >= BACKLOG
            assert (
                ChangeRequest.objects.filter(pk__in=[c.pk for c in busy])
                .filter(state="applying")
                .count()
                == 2
            )
        print(f"reconcile and sync ran {took:.1f} s after the control worker started")
        applies.kill()  # its runs are parked in a stage hook: a warm shutdown would wait
        mine = [key for key in broker.scan_iter() if applies.queue.encode() in key]
        if mine:
            broker.delete(*mine)
