"""Chaos: workers killed with SIGKILL at each stage of an apply, and the broker losing every
message. Afterwards every approved change is applied, AWS saw exactly one effective write per
change, AWS holds the approved document, and nothing is left applying.

Deterministic: a stage hook (``apply._stage``, armed per change through files) stops the run at
the stage and reports its pid; the test asserts the stage was reached and kills that process.
CI kills ``CHAOS_KILLS`` (3) runs per stage; ``make chaos`` sets it to 20.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from django.conf import settings

from frameworks import document
from frameworks.models import IN_FLIGHT_STATES, ChangeRequest
from tests.applying import approve, backup_client, draft_updates, writes
from tests.worker import celery_worker, routed_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

KILLS = int(os.environ.get("CHAOS_KILLS", "3"))
STAGES = ["before_call", "after_call", "polling"]


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, aws_files, emulator_server):
    folder = tmp_path_factory.mktemp("chaos")
    # Three attempts: a killed run and the one that finishes fit; a third kill does not.
    start = celery_worker(folder, aws_files=aws_files, concurrency=2, APPLY_MAX_ATTEMPTS="3")
    with start as running, routed_to(running.queue):
        yield running


@pytest.fixture(autouse=True)
def _roomy_account(emulator, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    emulator.control.configure(max_frameworks=500, max_controls=5000)


def drafts(n, target, editor, emulator):
    made = draft_updates(target, editor, n)
    emulator.control.clear_calls()
    return made


def approve_all(changes, editor, approver):
    """Approving enqueues each change for the worker as the approval commits."""
    return [approve(change, editor, approver) for change in changes]


def all_settled(changes, worker, timeout=120.0):
    deadline = time.monotonic() + timeout
    ids = [c.pk for c in changes]
    while ChangeRequest.objects.filter(pk__in=ids, state__in=IN_FLIGHT_STATES).exists():
        if time.monotonic() > deadline:
            left = list(
                ChangeRequest.objects.filter(pk__in=ids)
                .exclude(state="applied")
                .values_list("pk", "state", "attempts")
            )
            raise AssertionError(f"not settled: {left}\n{worker.tail()}")
        time.sleep(0.1)
    for change in changes:
        change.refresh_from_db()


def assert_applied_exactly_once(changes, target, emulator):
    """The invariants: applied, one effective write each, AWS holds what was approved, nothing
    left applying."""
    assert [c.state for c in changes] == ["applied"] * len(changes)
    effective = [c for c in writes(emulator) if c["effective"]]
    per_framework = {}
    for call in effective:
        per_framework[call["framework_name"]] = per_framework.get(call["framework_name"], 0) + 1
    assert per_framework == {c.framework_name: 1 for c in changes}
    aws = backup_client(target)
    for change in changes:
        live = aws.describe_framework(FrameworkName=change.framework_name)
        assert document.content_hash(document.parse(live)) == change.proposed_hash
    assert not ChangeRequest.objects.filter(state="applying").exists()


@pytest.mark.parametrize("stage", STAGES)
def test_a_worker_killed_at_each_stage_leaves_every_change_applied_exactly_once(
    worker, stage, target, editor, approver, emulator
):
    changes = drafts(KILLS, target, editor, emulator)
    if stage == "polling":
        emulator.control.configure(deploy_seconds=0.3)  # so there is a deployment to poll
    for change in changes:
        worker.arm(stage, change.pk)
    changes = approve_all(changes, editor, approver)
    killed = set()
    deadline = time.monotonic() + 120
    while len(killed) < len(changes):
        for run in worker.reached(stage):
            assert run["stage"] == stage
            os.kill(run["pid"], signal.SIGKILL)
            killed.add(run["change_id"])
        assert time.monotonic() < deadline, f"killed {len(killed)} of {len(changes)}"
        time.sleep(0.02)
    assert killed == {c.pk for c in changes}  # each change's run was stopped and killed once
    all_settled(changes, worker)
    assert_applied_exactly_once(changes, target, emulator)
    assert {c.attempts for c in changes} == {2}  # the killed run, and the one that finished


def test_a_change_that_kills_its_worker_every_time_ends_failed_after_k_attempts(
    worker, target, editor, approver, emulator
):
    (change,) = drafts(1, target, editor, emulator)
    attempts = int(worker.env["APPLY_MAX_ATTEMPTS"])
    worker.arm("claimed", change.pk)
    approve(change, editor, approver)
    for n in range(attempts):
        (run,) = worker.wait_reached("claimed")
        if n < attempts - 1:
            worker.arm("claimed", change.pk)
        os.kill(run["pid"], signal.SIGKILL)
    all_settled([change], worker)
    assert change.state == "failed"
    assert change.last_error["code"] == "AttemptsExhausted"
    assert change.attempts == attempts
    assert writes(emulator) == []


def test_a_whole_worker_killed_after_aws_accepted_is_recovered_by_the_reconciler(
    worker, target, editor, approver, emulator
):
    # Parent, pool and beat all die: no process is left to put the message back, so the
    # change's lease has to expire and the reconciler (of the next worker) has to find it.
    (change,) = drafts(1, target, editor, emulator)
    worker.arm("after_call", change.pk)
    approve(change, editor, approver)
    worker.wait_reached("after_call")
    worker.kill()
    worker.start()
    all_settled([change], worker, timeout=60)
    assert_applied_exactly_once([change], target, emulator)


#: The production timers of the reconciler and the requeue wait (config/settings.py).
DEFAULT_TIMERS = {
    "RECONCILE_INTERVAL_SECONDS": "15",
    "APPLY_REQUEUE_MIN_SECONDS": "30",
    "APPLY_REQUEUE_AFTER_SECONDS": "300",
}


def test_redis_flushed_with_fifty_approved_changes_waiting_is_recovered_with_default_timers(
    worker, target, editor, approver, emulator, tmp_path, aws_files
):
    worker.stop()
    changes = approve_all(drafts(50, target, editor, emulator), editor, approver)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    assert broker.llen(worker.queue) == 50
    # Redis restarted without persistence: every message and binding of this queue is gone.
    # (Only this queue's keys, not FLUSHDB: other test runs may share this Redis database.)
    mine = [key for key in broker.scan_iter() if worker.queue.encode() in key]
    assert broker.delete(*mine) >= 2
    assert broker.llen(worker.queue) == 0
    flushed = time.monotonic()
    start = celery_worker(
        tmp_path, queue=worker.queue, aws_files=aws_files, concurrency=2, **DEFAULT_TIMERS
    )
    with start as defaults:
        all_settled(changes, defaults, timeout=120)
    took = time.monotonic() - flushed
    print(f"50 changes lost with the broker were all applied {took:.0f} s after the flush")
    assert took < 120
    assert_applied_exactly_once(changes, target, emulator)
    worker.start()
