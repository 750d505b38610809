"""A write AWS accepted is never reported stale or failed: sync, the reconciler and a worker's
describe all recognise a landed write (the approved document's hash and this change's
IdempotencyToken, echoed by DescribeFramework; for a delete, a "request sent" row), and AWS
unreachable after the call leaves the change unconfirmed, never failed, until it is settled.

In this process against the emulator over HTTP (SQLite included); the same cases with a real
worker process that is killed are in test_apply_worker.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from frameworks import apply, aws, services
from frameworks.models import ChangeRequest, Event, Framework, HistoryEvent
from frameworks.services import live as aws_live
from tests.applying import (
    apply_events,
    approved_create,
    approved_delete,
    approved_update,
    backup_client,
    calls,
    controls,
    writes,
)

pytestmark = pytest.mark.django_db

DESCRIBE, UPDATE = "DescribeFramework", "UpdateFramework"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.APPLY_POLL_INTERVAL_SECONDS = 0.01
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 1
    settings.APPLY_RETRY_BASE_SECONDS = 0.01
    settings.APPLY_RETRY_MAX_DELAY_SECONDS = 0.05
    settings.APPLY_LEASE_SECONDS = 30
    settings.APPLY_MAX_ATTEMPTS = 2
    settings.APPLY_MAX_SECONDS = 600
    settings.APPLY_STAGE_HOOK_DIR = ""


def run(change: ChangeRequest) -> apply.ApplyResult:
    result = apply.change_request_apply(change_id=change.pk, task_id="t")
    change.refresh_from_db()
    return result


DEAD = "elsewhere:1:dead"


def land_then_die(change: ChangeRequest) -> None:
    """What a worker that died right after AWS accepted its call leaves behind: the change
    applying under its lease, a "request sent" row, and AWS holding the change (its token)."""
    services.change_request_claim(
        change_id=change.pk, worker=DEAD, lease_seconds=30, max_attempts=4
    )
    run_ = apply._Run(ChangeRequest.objects.get(pk=change.pk), DEAD, "dead", 0)
    operation, kwargs = run_.request()
    run_.send(operation, kwargs)


def lease_expires(change: ChangeRequest) -> None:
    ChangeRequest.objects.filter(pk=change.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert apply.changes_reconcile() == [change.pk]
    change.refresh_from_db()
    assert change.state == "approved"


@pytest.mark.parametrize("kind", ["update", "create", "delete"])
def test_a_landed_write_found_by_sync_before_a_worker_reclaims_it_ends_applied(
    kind, target, editor, approver, emulator
):
    make = {"update": approved_update, "create": approved_create, "delete": approved_delete}[kind]
    change = make(target, editor, approver, "daily", 7)
    emulator.control.clear_calls()
    land_then_die(change)
    lease_expires(change)
    result = services.target_sync(target_id=target.pk)
    change.refresh_from_db()
    assert change.state == "applied", result
    assert result.settled == [change.pk] and result.stale == []
    applied = apply_events(change)[-1]
    assert applied.event == Event.APPLIED and applied.details["settled_by"] == "sync"
    assert applied.actor_kind == "sync"
    # The message the reconciler enqueued finds the change done: no second write.
    assert run(change).outcome == "skipped"
    assert [c["effective"] for c in writes(emulator)] == [True]
    if kind == "delete":
        assert not Framework.objects.get(target=target, name="daily").present
    else:
        mirror = Framework.objects.get(target=target, name="daily")
        assert mirror.content_hash == change.proposed_hash and change.framework_id == mirror.pk


def test_a_framework_that_vanished_without_our_delete_makes_the_delete_stale(
    target, editor, approver, emulator
):
    change = approved_delete(target, editor, approver, "daily", 7)
    backup_client(target).delete_framework(FrameworkName="daily")  # someone else did
    result = services.target_sync(target_id=target.pk)
    change.refresh_from_db()
    assert change.state == "stale" and result.stale == [change.pk]


def test_a_worker_finds_an_earlier_runs_delete_by_its_request_sent_row(
    target, editor, approver, emulator
):
    change = approved_delete(target, editor, approver, "daily", 7)
    land_then_die(change)
    lease_expires(change)
    emulator.control.clear_calls()
    assert run(change).outcome == "applied"
    assert calls(emulator) == [(DESCRIBE, "ResourceNotFoundException")]  # gone: nothing sent


def test_a_live_document_equal_to_the_approved_one_without_our_token_is_not_drift(
    target, editor, approver, emulator
):
    change = approved_update(target, editor, approver, "daily", 7)
    # Someone wrote exactly the approved document by hand: not stale (it differs from the base
    # but not from what was approved); the worker still sends its own update.
    backup_client(target).update_framework(
        FrameworkName="daily", FrameworkDescription="daily v2", FrameworkControls=controls(1007)
    )
    assert services.target_sync(target_id=target.pk).stale == []
    change.refresh_from_db()
    assert change.state == "approved"
    assert run(change).outcome == "applied"


def test_a_landed_write_still_deploying_is_left_to_the_worker_by_sync(
    target, editor, approver, emulator
):
    change = approved_update(target, editor, approver, "daily", 7)
    emulator.control.configure(deploy_seconds=30)
    emulator.control.clear_calls()
    land_then_die(change)
    lease_expires(change)
    result = services.target_sync(target_id=target.pk)
    change.refresh_from_db()
    assert change.state == "approved" and result.settled == [] and result.stale == []
    emulator.control.finish_deployments()
    assert run(change).outcome == "applied"
    assert [c["effective"] for c in writes(emulator)] == [True]


def test_aws_unreachable_after_the_call_spends_no_attempt_and_ends_unconfirmed_then_applied(
    target, editor, approver, emulator, monkeypatch, django_capture_on_commit_callbacks, settings
):
    settings.APPLY_MAX_ATTEMPTS = 1
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 3
    change = approved_update(target, editor, approver, "daily", 7)
    emulator.control.clear_calls()
    mail.outbox.clear()
    # AWS goes away the moment it has accepted the update: every describe is cut off.
    stage = apply._stage

    def unreachable_after_the_call(name: str, change_id: int) -> None:
        if name == "after_call":
            emulator.control.drop_next(count=1000, operation=DESCRIBE)
        stage(name, change_id)

    monkeypatch.setattr(apply, "_stage", unreachable_after_the_call)
    with django_capture_on_commit_callbacks(execute=True):
        assert run(change).outcome == "unconfirmed"
    # More describes failed than there are attempts (one), and none was spent on them.
    failed_reads = [op for op, code in calls(emulator) if (op, code) == (DESCRIBE, "dropped")]
    assert len(failed_reads) > settings.APPLY_MAX_ATTEMPTS
    assert change.state == "unconfirmed" and change.attempts == 1
    assert [c["effective"] for c in writes(emulator)] == [True]
    # One row for the first failed read of the streak, then the unconfirmed outcome.
    events = [e.event for e in apply_events(change)]
    assert events[-2:] == [Event.ATTEMPT_FAILED, Event.UNCONFIRMED]
    assert [m.subject for m in mail.outbox][-1].endswith("is not confirmed yet")
    # The framework stays held: nobody can submit another change to it meanwhile.
    assert ChangeRequest.objects.filter(state__in=["unconfirmed"]).count() == 1
    # AWS is back; the reconciler (or sync) settles it from what AWS holds.
    emulator.control.reset_faults()
    with django_capture_on_commit_callbacks(execute=True):
        assert apply.changes_settle_unconfirmed() == [change.pk]
    change.refresh_from_db()
    assert change.state == "applied" and change.attempts == 1
    assert apply_events(change)[-1].details["settled_by"] == "reconciler"
    assert [m.subject for m in mail.outbox][-1].endswith("applied")


def test_sync_settles_an_unconfirmed_change(target, editor, approver, emulator, settings):
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 0
    change = approved_update(target, editor, approver, "daily", 7)
    emulator.control.configure(deploy_seconds=30)
    assert run(change).outcome == "unconfirmed"
    assert services.target_sync(target_id=target.pk).settled == []  # still deploying
    emulator.control.finish_deployments()
    assert services.target_sync(target_id=target.pk).settled == [change.pk]
    change.refresh_from_db()
    assert change.state == "applied"


def test_an_unconfirmed_change_whose_deployment_failed_ends_failed(
    target, editor, approver, emulator, settings
):
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 0
    change = approved_update(target, editor, approver, "daily", 7)
    emulator.control.configure(deploy_seconds=30)
    emulator.control.fail_next_deployment("daily")
    assert run(change).outcome == "unconfirmed"
    emulator.control.finish_deployments()
    assert services.target_sync(target_id=target.pk).settled == [change.pk]
    change.refresh_from_db()
    assert change.state == "failed" and change.last_error["code"] == "DeploymentFailed"


def test_settle_refuses_what_it_cannot_settle_and_records_the_refusal(
    target, editor, approver, emulator
):
    change = approved_update(target, editor, approver, "daily", 7)
    live = aws.describe_framework(target, "daily", max_attempts=1)
    with pytest.raises(services.TransitionRefused) as refused:
        services.change_request_settle(change_id=change.pk, described=live, by="reconciler")
    assert refused.value.code == "not_settled_send"
    assert HistoryEvent.objects.filter(event=Event.REFUSED, change_request=change).exists()


def test_the_verdict_of_each_live_document(target, editor, approver, emulator):
    change = approved_update(target, editor, approver, "daily", 7)
    base = aws_live.Live(aws.describe_framework(target, "daily", max_attempts=1))
    assert aws_live.verdict(change, base, sent=False) == aws_live.SEND
    assert aws_live.verdict(change, aws_live.Live(None), sent=False) == aws_live.STALE
    backup_client(target).update_framework(FrameworkName="daily", FrameworkControls=controls(3))
    drift = aws_live.Live(aws.describe_framework(target, "daily", max_attempts=1))
    assert aws_live.verdict(change, drift, sent=False) == aws_live.STALE


# --- the requeue wait ------------------------------------------------------------------------


def test_the_requeue_wait_follows_the_queue_depth_within_its_bounds(settings):
    settings.APPLY_REQUEUE_MIN_SECONDS = 30
    settings.APPLY_REQUEUE_AFTER_SECONDS = 300
    now = timezone.now()
    # An empty queue (a flushed broker): lost changes come back after the minimum.
    assert apply.requeue_after_seconds(0, now=now) == 30
    assert apply.requeue_after_seconds(None, now=now) == 30
    # A queue nobody has drained lately: wait the longest rather than duplicate it.
    assert apply.requeue_after_seconds(500, now=now) == 300


def test_a_deep_queue_that_drains_waits_as_long_as_it_takes(
    target, editor, approver, emulator, settings
):
    settings.APPLY_REQUEUE_MIN_SECONDS = 1
    settings.APPLY_REQUEUE_AFTER_SECONDS = 1_000_000
    change = approved_update(target, editor, approver, "daily", 7)
    assert run(change).outcome == "applied"  # one claim in the last five minutes
    now = timezone.now()
    shallow = apply.requeue_after_seconds(1, now=now)
    deep = apply.requeue_after_seconds(100, now=now)
    # One claim per 300 s: 100 messages take 100 times longer to drain than one.
    assert shallow >= 2 * 300
    assert deep >= 2 * 300 * 100 > shallow
