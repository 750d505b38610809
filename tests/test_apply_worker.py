"""Applying approved changes with a real Celery worker process (tests/worker.py), Redis as the
broker, PostgreSQL shared with the worker, and the emulator over HTTP. Each test sets the scene
(drafts, faults), then approves through the services, whose commit enqueues the task for the
worker, and reads the emulator's call log for the exact AWS calls the worker made."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from frameworks import apply, services, tasks
from frameworks.models import ChangeRequest, Event, Framework, HistoryEvent
from tests.applying import (
    apply_events,
    approve,
    approved_update,
    backup_client,
    calls,
    controls,
    draft_create,
    draft_delete,
    draft_update,
    writes,
)
from tests.worker import celery_worker, routed_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

DESCRIBE, UPDATE, CREATE, DELETE = (
    "DescribeFramework",
    "UpdateFramework",
    "CreateFramework",
    "DeleteFramework",
)
DONE = {"applied", "failed", "stale"}


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, aws_files, emulator_server):
    folder = tmp_path_factory.mktemp("worker")
    with celery_worker(folder, aws_files=aws_files) as running, routed_to(running.queue):
        yield running


@pytest.fixture(autouse=True)
def _quick_users(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def settled(change: ChangeRequest, worker, timeout: float = 30.0) -> ChangeRequest:
    """Wait until the worker has finished with `change`."""
    deadline = time.monotonic() + timeout
    while True:
        change.refresh_from_db()
        if change.state in DONE:
            return change
        if time.monotonic() > deadline:
            raise AssertionError(f"change {change.pk} is still {change.state}\n{worker.tail()}")
        time.sleep(0.05)


def test_an_approved_update_is_applied_by_the_worker(worker, target, editor, approver, emulator):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.clear_calls()
    approve(change, editor, approver)  # enqueues the task when it commits
    assert settled(change, worker).state == "applied"
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, None), (DESCRIBE, None)]
    assert writes(emulator)[0]["idempotency_token"] == apply.idempotency_token(change)
    mirror = Framework.objects.get(target=target, name="daily")
    assert mirror.content_hash == change.proposed_hash
    claimed = apply_events(change)[0]
    assert claimed.event == Event.CLAIMED and claimed.actor_kind == "worker"


def test_an_approved_create_and_delete_are_applied(worker, target, editor, approver, emulator):
    create = draft_create(target, editor, "fresh", 11)
    delete = draft_delete(target, editor, "old", 13)
    emulator.control.clear_calls()
    approve(create, editor, approver)
    approve(delete, editor, approver)
    assert settled(create, worker).state == "applied"
    assert settled(delete, worker).state == "applied"
    # ListTags: the tags AWS reports after the create, checked against the approved ones.
    assert [op for op, _ in calls(emulator, name="fresh")] == [
        DESCRIBE,
        CREATE,
        DESCRIBE,
        "ListTags",
    ]
    assert [op for op, _ in calls(emulator, name="old")] == [DESCRIBE, DELETE, DESCRIBE]
    assert Framework.objects.get(name="fresh").present
    assert not Framework.objects.get(name="old").present


@pytest.mark.parametrize(
    "code", ["ServiceUnavailableException", "ThrottlingException", "ConflictException"]
)
def test_a_transient_error_is_retried_by_celery_until_it_succeeds(
    worker, target, editor, approver, emulator, code
):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.clear_calls()
    emulator.control.fail_next(code, count=2, operation=UPDATE)
    approve(change, editor, approver)
    assert settled(change, worker).state == "applied"
    assert calls(emulator) == [
        (DESCRIBE, None),
        (UPDATE, code),
        (DESCRIBE, None),
        (UPDATE, code),
        (DESCRIBE, None),
        (UPDATE, None),
        (DESCRIBE, None),
    ]
    assert [c["effective"] for c in writes(emulator)] == [False, False, True]
    assert change.attempts == 3
    failed = [e for e in apply_events(change) if e.event == Event.ATTEMPT_FAILED]
    assert [e.details["attempt"] for e in failed] == [1, 2]


def test_a_lost_connection_is_retried_and_an_update_that_landed_is_not_sent_again(
    worker, target, editor, approver, emulator
):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.clear_calls()
    emulator.control.drop_next(operation=UPDATE, after_action=True)
    approve(change, editor, approver)
    assert settled(change, worker).state == "applied"
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, "dropped"), (DESCRIBE, None)]
    assert [
        e.details["error"]["code"] for e in apply_events(change) if e.event == Event.ATTEMPT_FAILED
    ] == ["ConnectionError"]


@pytest.mark.parametrize(
    "code",
    [
        "InvalidParameterValueException",
        "MissingParameterValueException",
        "ResourceNotFoundException",
        "AlreadyExistsException",
        "LimitExceededException",
        "AccessDeniedException",
        "DependencyFailureException",
    ],
)
def test_a_permanent_error_fails_the_change_after_exactly_one_call(
    worker, target, editor, approver, emulator, code
):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.clear_calls()
    emulator.control.fail_next(code, operation=UPDATE)
    approve(change, editor, approver)
    assert settled(change, worker).state == "failed"
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, code)]
    assert change.last_error["code"] == code
    assert change.last_error["words"] and change.last_error["message"]


def test_a_failed_deployment_fails_the_change(worker, target, editor, approver, emulator):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.clear_calls()
    emulator.control.fail_next_deployment("daily")
    approve(change, editor, approver)
    assert settled(change, worker).state == "failed"
    assert change.last_error["code"] == "DeploymentFailed"
    # AWS Config is read to see whether recording explains the failure (here it does not).
    assert [op for op, _ in calls(emulator)] == [
        DESCRIBE,
        UPDATE,
        DESCRIBE,
        "DescribeConfigurationRecorders",
        "DescribeConfigurationRecorderStatus",
    ]


def test_drift_in_aws_makes_the_change_stale(worker, target, editor, approver, emulator):
    change = draft_update(target, editor, "daily", 7)
    # Someone changes the framework in AWS behind the console's back (no sync since).
    backup_client(target).update_framework(FrameworkName="daily", FrameworkControls=controls(3))
    emulator.control.clear_calls()
    approve(change, editor, approver)
    assert settled(change, worker).state == "stale"
    assert calls(emulator) == [(DESCRIBE, None)]


def test_a_slow_deployment_is_polled_to_the_end(worker, target, editor, approver, emulator):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.configure(deploy_seconds=1)
    emulator.control.clear_calls()
    approve(change, editor, approver)
    assert settled(change, worker).state == "applied"
    ops = [op for op, _ in calls(emulator)]
    assert ops[:2] == [DESCRIBE, UPDATE] and ops.count(UPDATE) == 1 and len(ops) > 3
    statuses = [
        e.details["deployment_status"]
        for e in apply_events(change)
        if e.event == Event.DEPLOYMENT_STATUS
    ]
    assert statuses == ["UPDATE_IN_PROGRESS"]
    assert apply_events(change)[-1].details["deployment_status"] == "COMPLETED"


def test_a_change_approved_while_no_worker_runs_is_applied_when_one_starts(
    worker, target, editor, approver, emulator, tmp_path, aws_files
):
    # Stop-the-worker scenario: the message waits in Redis; a new worker picks it up.
    worker.kill()
    change = draft_update(target, editor, "daily", 7)
    emulator.control.clear_calls()
    approve(change, editor, approver)
    with celery_worker(tmp_path, queue=worker.queue, aws_files=aws_files) as second:
        assert settled(change, second).state == "applied"
    assert [c["effective"] for c in writes(emulator)] == [True]
    worker.restart()


def test_an_approved_change_without_a_message_is_found_by_the_reconciler(
    worker, target, editor, approver, emulator
):
    change = draft_update(target, editor, "daily", 7)
    nowhere = f"{worker.queue}-lost"
    with routed_to(nowhere):  # the approval's message goes where no worker listens
        approve(change, editor, approver)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(nowhere)  # and is lost
    # Beat's reconciler notices after APPLY_REQUEUE_AFTER_SECONDS and enqueues it again.
    assert settled(change, worker).state == "applied"
    assert ChangeRequest.objects.get(pk=change.pk).enqueued_at is not None
    assert [c["effective"] for c in writes(emulator, "daily")] == [True, True]  # create, update


# --- a write that landed is never undone -----------------------------------------------------


def expire_lease(change: ChangeRequest) -> None:
    """Time passes for the lease of a run that is gone (as APPLY_LEASE_SECONDS would)."""
    ChangeRequest.objects.filter(pk=change.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.parametrize("kind", ["update", "create", "delete"])
def test_a_write_that_landed_then_lost_its_worker_is_applied_by_a_sync_before_any_reclaim(
    worker, target, editor, approver, emulator, kind
):
    draft = {"update": draft_update, "create": draft_create, "delete": draft_delete}[kind]
    change = draft(target, editor, "daily", 7)
    emulator.control.clear_calls()
    worker.arm("after_call", change.pk)
    approve(change, editor, approver)
    worker.wait_reached("after_call")  # AWS accepted the write
    worker.kill()  # the whole worker, beat included: nothing finishes the run
    try:
        expire_lease(change)
        assert apply.changes_reconcile() == [change.pk]  # back to approved, to be sent again
        result = services.target_sync(target_id=target.pk)  # ... but sync gets there first
        change.refresh_from_db()
        assert change.state == "applied", (result, change.last_error)
        assert result.settled == [change.pk] and result.stale == []
    finally:
        worker.start()
    tasks.apply_change.delay(change.pk)  # the reconciler's message arrives: nothing to do
    time.sleep(0.5)
    assert settled(change, worker).state == "applied"
    assert [c["effective"] for c in writes(emulator)] == [True]


def test_aws_unreachable_right_after_the_call_never_fails_the_change(
    worker, target, editor, approver, emulator
):
    change = draft_update(target, editor, "daily", 7)
    emulator.control.configure(deploy_seconds=2)
    emulator.control.clear_calls()
    approve(change, editor, approver)
    deadline = time.monotonic() + 20
    while not HistoryEvent.objects.filter(
        change_request_id=change.pk, event=Event.ATTEMPT_SUCCEEDED
    ).exists():
        assert time.monotonic() < deadline, worker.tail()
        time.sleep(0.01)
    # AWS accepted the update and is then unreachable for longer than every attempt would
    # last (the worker's deployment wait is 10 s, its attempts 4).
    emulator.control.drop_next(count=100_000, operation=DESCRIBE)
    deadline = time.monotonic() + 30
    while ChangeRequest.objects.get(pk=change.pk).state == "applying":
        assert time.monotonic() < deadline, worker.tail()
        time.sleep(0.1)
    change.refresh_from_db()
    assert change.state in ("unconfirmed", "applied"), change.last_error
    assert change.attempts == 1
    emulator.control.reset_faults()  # AWS is back: beat's reconciler settles it
    assert settled(change, worker).state == "applied"
    assert change.attempts == 1
    assert not HistoryEvent.objects.filter(change_request_id=change.pk, event=Event.FAILED)
    assert [c["effective"] for c in writes(emulator)] == [True]


@pytest.fixture
def keeping_worker(tmp_path, django_db_setup, aws_files, emulator_server):
    """A worker of its own whose connections outlast the test (no beat: nothing else runs)."""
    with (
        celery_worker(
            tmp_path / "worker", aws_files=aws_files, beat=False, DATABASE_CONN_MAX_AGE="3600"
        ) as running,
        routed_to(running.queue),
    ):
        yield running


def _other_backends() -> dict[int, object]:
    """The worker's connections to this database (its role's, but for this test's own): pid
    and start. The owner role's connection, which sets the tests' database up, is not one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = current_user "
            "AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


def test_the_worker_keeps_its_connection_across_tasks_and_replaces_one_the_server_dropped(
    keeping_worker, target, editor, approver
):
    """Celery alone would open a connection for every task (8 ms of every apply here); the
    worker keeps one, as Django keeps a request's, and a connection the server dropped between
    tasks is found by the health check and replaced before the next task uses it."""
    first = approved_update(target, editor, approver, "daily", 7)
    assert settled(first, keeping_worker).state == "applied"
    kept = _other_backends()
    assert kept
    for days, name in ((10, "weekly"), (11, "monthly")):
        change = approved_update(target, editor, approver, name, days)
        assert settled(change, keeping_worker).state == "applied"
    assert _other_backends() == kept  # no connection opened or closed for those two tasks

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = current_user "
            "AND pid <> pg_backend_pid()"
        )
    change = approved_update(target, editor, approver, "yearly", 20)
    change = settled(change, keeping_worker)
    assert change.state == "applied" and change.attempts == 1
    assert [e.event for e in apply_events(change)] == [e.event for e in apply_events(first)]
    assert set(_other_backends()).isdisjoint(kept)
