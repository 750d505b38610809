"""Chaos at random moments, not only at the stage hooks: while changes are applied, pool
processes (and now and then the whole apply worker) are SIGKILLed at random times, with AWS
slow to deploy. Afterwards every change is applied, with one effective write each, AWS holds
what was approved, and nothing is left applying or unconfirmed.

``make chaos`` runs it with a seed (``CHAOS_SEED``, printed, so a failure can be replayed);
without one it is skipped, and CI keeps the deterministic cases in test_chaos.py.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from frameworks.models import ChangeRequest
from tests.chaos.test_chaos import all_settled, approve_all, assert_applied_exactly_once, drafts
from tests.worker import celery_worker, routed_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("CHAOS_SEED"), reason="set CHAOS_SEED (make chaos)"),
]

CHANGES = int(os.environ.get("CHAOS_CHANGES", "20"))
KILLS = int(os.environ.get("CHAOS_RANDOM_KILLS", "15"))


@pytest.fixture(autouse=True)
def _roomy_account(emulator, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    emulator.control.configure(max_frameworks=500, max_controls=5000)


def test_workers_killed_at_random_moments_leave_every_change_applied_exactly_once(
    tmp_path, aws_files, emulator_server, target, editor, approver, emulator
):
    seed = os.environ["CHAOS_SEED"]
    rng = random.Random(seed)
    print(f"CHAOS_SEED={seed}")
    emulator.control.configure(deploy_seconds=0.5)
    changes = drafts(CHANGES, target, editor, emulator)
    # The control worker (beat, sync, the reconciler) is left alone; the apply worker is not.
    control = celery_worker(tmp_path / "control", aws_files=aws_files, consume="control")
    with control as steady:
        apply_worker = celery_worker(
            tmp_path / "apply",
            queue=steady.queue,
            aws_files=aws_files,
            concurrency=2,
            beat=False,
            consume="apply",
            APPLY_MAX_ATTEMPTS="50",
        )
        with apply_worker as applies, routed_to(applies.queue):
            approve_all(changes, editor, approver)
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.05, 1.5))
                if rng.random() < 0.15:
                    applies.kill()  # the whole worker: its messages wait for the reconciler
                    applies.start()
                    continue
                pool = applies.pool_pids()
                if pool:
                    os.kill(rng.choice(pool), signal.SIGKILL)
            all_settled(changes, applies, timeout=180)
    left = ChangeRequest.objects.filter(state__in=["applying", "unconfirmed", "approved"])
    assert not left.exists()
    assert_applied_exactly_once(changes, target, emulator)
