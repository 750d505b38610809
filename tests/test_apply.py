"""The apply algorithm (frameworks/apply.py), one run at a time, in this process, against the
emulator over HTTP. What a real worker process adds (retries through the broker, crashes) is in
test_apply_worker.py and tests/chaos/; this file pins down every decision a run makes, with the
exact AWS calls it takes, and runs everywhere (SQLite included)."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from frameworks import apply, aws, document, services
from frameworks.models import ChangeRequest, DocumentVersion, Event, Framework
from tests.applying import (
    apply_events,
    approve,
    approved_create,
    approved_delete,
    approved_update,
    backup_client,
    calls,
    controls,
    writes,
)
from tests.factories import control, history_appends

pytestmark = pytest.mark.django_db

DESCRIBE, UPDATE, CREATE, DELETE = (
    "DescribeFramework",
    "UpdateFramework",
    "CreateFramework",
    "DeleteFramework",
)


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.APPLY_POLL_INTERVAL_SECONDS = 0.01
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 2
    settings.APPLY_RETRY_BASE_SECONDS = 0.01
    settings.APPLY_RETRY_MAX_DELAY_SECONDS = 0.05
    settings.APPLY_LEASE_SECONDS = 30
    settings.APPLY_MAX_ATTEMPTS = 4
    settings.APPLY_MAX_SECONDS = 600
    settings.APPLY_STAGE_HOOK_DIR = ""


@pytest.fixture
def change(target, editor, approver, emulator):
    made = approved_update(target, editor, approver, "daily", 7)
    emulator.control.clear_calls()
    return made


def run(change: ChangeRequest, task_id: str = "t", retries: int = 0) -> apply.ApplyResult:
    """One run, as Celery's task "t" (try number `retries`) would make it."""
    result = apply.change_request_apply(change_id=change.pk, task_id=task_id, retries=retries)
    change.refresh_from_db()
    return result


def retry(change: ChangeRequest, result: apply.ApplyResult, n: int = 1) -> apply.ApplyResult:
    """What the Celery retry of a run (task "t") does."""
    assert result.outcome == "retry", result
    return run(change, task_id="t", retries=n)


# --- the token, the backoff, the status words -----------------------------------------------


def test_the_token_is_stable_per_change_and_approved_document(
    change, other_target, editor, approver
):
    again = ChangeRequest.objects.get(pk=change.pk)
    assert apply.idempotency_token(again) == apply.idempotency_token(change)
    # AWS refuses two frameworks with the same controls in one account: the twin is in another.
    twin = approved_update(other_target, editor, approver, "daily", 7)
    # The same documents (the same base and proposal), another change: another token.
    assert twin.proposed_hash == change.proposed_hash
    assert twin.base_version_id == change.base_version_id
    assert apply.idempotency_token(twin) != apply.idempotency_token(change)


def test_the_token_changes_when_the_change_is_rebased(change):
    before = apply.idempotency_token(change)
    rebased = ChangeRequest.objects.get(pk=change.pk)
    rebased.base_version = DocumentVersion.record(
        document.parse({"FrameworkName": "x", "FrameworkControls": controls(99)})
    )
    assert apply.idempotency_token(rebased) != before
    assert len(before) <= 64  # AWS tokens of other services stop at 64 characters


def test_backoff_is_full_jitter_exponential_and_capped():
    top = random.Random()
    top.uniform = lambda a, b: b  # the ceiling of each draw
    ceilings = [apply.backoff_seconds(n, base=2, cap=60, rng=top) for n in range(1, 9)]
    assert ceilings == [2, 4, 8, 16, 32, 60, 60, 60]
    draws = [apply.backoff_seconds(5, base=2, cap=60, rng=random.Random(i)) for i in range(200)]
    assert all(0 <= d <= 32 for d in draws)
    assert min(draws) < 4 and max(draws) > 28  # spread over the whole range, not near the top


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("COMPLETED", "done"),
        ("Active", "done"),  # what AWS's own samples print
        ("CREATE_IN_PROGRESS", "running"),
        ("UPDATE_IN_PROGRESS", "running"),
        ("DELETE_IN_PROGRESS", "running"),
        ("FAILED", "failed"),
    ],
)
def test_deployment_statuses_are_read_defensively(status, state):
    assert document.deployment_state(status) == state


# --- success --------------------------------------------------------------------------------


def test_an_update_is_described_sent_once_with_its_token_and_polled(change, emulator):
    result = run(change)
    assert result.outcome == "applied"
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, None), (DESCRIBE, None)]
    update = writes(emulator)[0]
    assert update["idempotency_token"] == apply.idempotency_token(change)
    assert update["request"]["FrameworkControls"] == controls(1007)
    assert update["effective"]
    assert change.state == "applied" and change.applied_at is not None
    assert change.lease_owner == ""
    mirror = Framework.objects.get(name="daily")
    assert mirror.content_hash == change.proposed_hash
    assert mirror.idempotency_token == apply.idempotency_token(change)
    assert [e.event for e in apply_events(change)] == [
        Event.CLAIMED,
        Event.ATTEMPT_STARTED,
        Event.ATTEMPT_SUCCEEDED,
        Event.APPLIED,  # deployed at once: the final status is in this row
    ]
    applied = apply_events(change)[-1]
    assert applied.version_after.content_hash == change.proposed_hash
    assert applied.details["matches_approved"] is True


def test_a_create_sends_its_tags_and_token(target, editor, approver, emulator):
    change = approved_create(target, editor, approver, "fresh", 11)
    emulator.control.clear_calls()
    assert run(change).outcome == "applied"
    assert calls(emulator) == [
        (DESCRIBE, "ResourceNotFoundException"),
        (CREATE, None),
        (DESCRIBE, None),
        ("ListTags", None),  # the tags AWS reports, checked against the approved ones
    ]
    create = writes(emulator)[0]
    assert create["request"]["FrameworkTags"] == {"owner": "compliance"}
    assert create["idempotency_token"] == apply.idempotency_token(change)
    assert Framework.objects.get(name="fresh").content_hash == change.proposed_hash
    assert change.framework is not None


def test_a_delete_ends_with_the_framework_gone(target, editor, approver, emulator):
    change = approved_delete(target, editor, approver, "old", 13)
    emulator.control.clear_calls()
    assert run(change).outcome == "applied"
    assert calls(emulator) == [
        (DESCRIBE, None),
        (DELETE, None),
        (DESCRIBE, "ResourceNotFoundException"),
    ]
    assert not Framework.objects.get(name="old").present


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["ServiceUnavailableException", "ThrottlingException", "ConflictException"],
)
def test_a_transient_error_is_recorded_and_retried_with_the_same_token(change, emulator, code):
    emulator.control.fail_next(code, operation=UPDATE)
    first = run(change)
    assert first.outcome == "retry" and 0 <= first.retry_in <= 0.05
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, code)]
    # Still applying (it may have landed for all we know), held for the retry.
    assert change.state == "applying"
    assert change.lease_owner == apply.handoff_owner("t", 1)
    assert change.last_error["code"] == code
    # Nobody else gets it in the meantime; the retry does.
    assert run(change, task_id="other").outcome == "skipped"
    assert retry(change, first).outcome == "applied"
    assert calls(emulator)[2:] == [(DESCRIBE, None), (UPDATE, None), (DESCRIBE, None)]
    tokens = {c["idempotency_token"] for c in writes(emulator)}
    assert tokens == {apply.idempotency_token(change)}
    assert change.attempts == 2
    failed = [e for e in apply_events(change) if e.event == Event.ATTEMPT_FAILED]
    assert [e.details["error"]["code"] for e in failed] == [code]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("InvalidParameterValueException", "refused a value"),
        ("MissingParameterValueException", "required value is missing"),
        ("ResourceNotFoundException", "no framework of that name"),
        ("AlreadyExistsException", "already exists"),
        ("LimitExceededException", "quota"),
        ("AccessDeniedException", "not allowed"),
        ("DependencyFailureException", "unexpected error"),  # not in the table: permanent
    ],
)
def test_a_permanent_error_fails_the_change_after_one_call_in_plain_words(
    change, emulator, code, words
):
    emulator.control.fail_next(code, operation=UPDATE)
    assert run(change).outcome == "failed"
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, code)]
    assert change.state == "failed"
    assert change.last_error["code"] == code
    assert words in change.last_error["words"]
    assert change.last_error["message"]  # AWS's own message, kept
    assert change.last_error["request_id"]


def test_a_permanent_error_on_the_first_describe_fails_after_that_one_call(change, emulator):
    emulator.control.fail_next("AccessDeniedException")
    assert run(change).outcome == "failed"
    assert calls(emulator) == [(DESCRIBE, "AccessDeniedException")]


def test_a_lost_answer_after_aws_acted_is_recovered_without_a_second_update(change, emulator):
    emulator.control.drop_next(operation=UPDATE, after_action=True)
    first = run(change)
    assert first.outcome == "retry"
    assert change.last_error["code"] == "ConnectionError"
    assert retry(change, first).outcome == "applied"
    # The retry saw its own token and the approved document in AWS: no second update.
    assert calls(emulator) == [(DESCRIBE, None), (UPDATE, "dropped"), (DESCRIBE, None)]
    assert [c["effective"] for c in writes(emulator)] == [True]


def test_a_read_timeout_on_the_call_is_retried_and_the_landed_update_found(
    change, emulator, settings, monkeypatch
):
    settings.AWS_READ_TIMEOUT = 1

    def slow_aws(stage, change_id):  # AWS gets slow just as the update is sent
        if stage == "before_call":
            emulator.control.set_latency(1.5)

    monkeypatch.setattr(apply, "_stage", slow_aws)
    first = run(change)
    assert first.outcome == "retry"
    assert change.last_error["code"] == "ReadTimeout"
    emulator.control.set_latency(0)
    time.sleep(1)  # AWS finishes the update nobody waited for
    assert retry(change, first).outcome == "applied"
    assert [c["effective"] for c in writes(emulator)] == [True]


def test_transient_errors_end_failed_when_the_attempts_are_used_up(change, emulator, settings):
    settings.APPLY_MAX_ATTEMPTS = 3
    emulator.control.fail_next("ServiceUnavailableException", count=10, operation=UPDATE)
    result = run(change)
    for n in (1, 2):
        result = retry(change, result, n)
    assert result.outcome == "failed"
    assert [op for op, _ in calls(emulator)].count(UPDATE) == 3
    assert "Gave up after 3 attempts" in change.last_error["words"]
    assert change.last_error["code"] == "ServiceUnavailableException"


def test_transient_errors_end_failed_when_the_total_time_is_used_up(change, emulator, settings):
    settings.APPLY_MAX_SECONDS = 0.001  # already over when the first error comes back
    emulator.control.fail_next("ThrottlingException", operation=UPDATE)
    assert run(change).outcome == "failed"
    assert [op for op, _ in calls(emulator)].count(UPDATE) == 1
    assert "minutes of attempts" in change.last_error["words"]
    assert change.last_error["code"] == "ThrottlingException"


def test_a_change_claimed_k_times_ends_failed_without_a_call(change, emulator, settings):
    # K runs that died (say, killed by the OOM killer) before this one.
    ChangeRequest.objects.filter(pk=change.pk).update(attempts=settings.APPLY_MAX_ATTEMPTS)
    assert run(change).outcome == "failed"
    assert calls(emulator) == []
    assert change.last_error["code"] == "AttemptsExhausted"


# --- before the call: drift and running deployments ----------------------------------------


def test_a_framework_changed_in_aws_makes_the_change_stale_and_nothing_is_sent(change, emulator):
    backup_client(change.target).update_framework(
        FrameworkName="daily", FrameworkControls=controls(500)
    )
    emulator.control.clear_calls()
    assert run(change).outcome == "stale"
    assert calls(emulator) == [(DESCRIBE, None)]
    assert change.state == "stale" and change.lease_owner == ""
    stale = apply_events(change)[-1]
    assert stale.event == Event.STALE
    assert stale.details["base_hash"] == change.base_version.content_hash
    assert stale.details["live_hash"] not in (None, change.base_version.content_hash)


def test_a_framework_deleted_in_aws_makes_an_update_stale(change, emulator):
    backup_client(change.target).delete_framework(FrameworkName="daily")
    assert run(change).outcome == "stale"
    assert apply_events(change)[-1].details["live_hash"] is None


def test_a_create_whose_name_was_taken_meanwhile_is_stale(target, editor, approver, emulator):
    change = approved_create(target, editor, approver, "fresh", 11)
    backup_client(target).create_framework(FrameworkName="fresh", FrameworkControls=controls(12))
    assert run(change).outcome == "stale"
    assert [op for op, _ in calls(emulator, name="fresh")].count(CREATE) == 1  # only the scene's


def test_it_waits_for_a_running_deployment_then_sends(change, emulator, monkeypatch):
    emulator.control.configure(deploy_seconds=600)
    # The same document again: AWS redeploys it (UPDATE_IN_PROGRESS) without changing it.
    backup_client(change.target).update_framework(
        FrameworkName="daily", FrameworkDescription="daily v1", FrameworkControls=controls(7)
    )
    emulator.control.clear_calls()
    waits = []

    def sleep(seconds):  # the deployment ends while the run waits for the second time
        waits.append(seconds)
        if len(waits) == 2:
            emulator.control.configure(deploy_seconds=0)
            emulator.control.finish_deployments()

    monkeypatch.setattr(apply, "_pause", sleep)
    assert run(change).outcome == "applied"
    ops = [op for op, _ in calls(emulator)]
    assert ops == [DESCRIBE, DESCRIBE, DESCRIBE, UPDATE, DESCRIBE]
    statuses = [
        e.details["deployment_status"]
        for e in apply_events(change)
        if e.event == Event.DEPLOYMENT_STATUS
    ]
    assert statuses == ["UPDATE_IN_PROGRESS"]  # COMPLETED is in the applied row


def test_a_deployment_still_running_at_the_end_of_a_run_is_unconfirmed_then_settled(
    change, emulator, settings
):
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 0
    emulator.control.configure(deploy_seconds=30)
    first = run(change)
    assert first.outcome == "unconfirmed"
    assert change.state == "unconfirmed" and change.attempts == 1
    assert change.last_error["code"] == "DeploymentUnconfirmed"
    assert apply.changes_settle_unconfirmed() == []  # still deploying: nothing to settle
    emulator.control.finish_deployments()
    assert apply.changes_settle_unconfirmed() == [change.pk]
    change.refresh_from_db()
    assert change.state == "applied" and change.attempts == 1
    assert [op for op, _ in calls(emulator)].count(UPDATE) == 1
    assert [e.event for e in apply_events(change)][-2:] == [Event.UNCONFIRMED, Event.APPLIED]


# --- after the call --------------------------------------------------------------------------


def test_a_failed_deployment_fails_the_change(change, emulator):
    emulator.control.fail_next_deployment("daily")
    assert run(change).outcome == "failed"
    assert change.last_error["code"] == "DeploymentFailed"
    assert "could not deploy" in change.last_error["words"]
    # AWS Config is read to see whether recording explains it (here it does not).
    assert [op for op, _ in calls(emulator)] == [
        DESCRIBE,
        UPDATE,
        DESCRIBE,
        "DescribeConfigurationRecorders",
        "DescribeConfigurationRecorderStatus",
    ]
    assert "cause" not in change.last_error


# --- crashes, duplicates, the reconciler ------------------------------------------------------


def test_a_run_that_died_after_aws_accepted_is_finished_without_a_second_call(change, emulator):
    # The run that died: it claimed the change and AWS accepted its update, then nothing.
    services.change_request_claim(
        change_id=change.pk, worker="elsewhere:1:dead", lease_seconds=30, max_attempts=4
    )
    kwargs = {"FrameworkName": "daily", "FrameworkControls": controls(1007)}
    kwargs["FrameworkDescription"] = "daily v2"
    aws.update_framework(change.target, kwargs, token=apply.idempotency_token(change))
    emulator.control.clear_calls()
    # Its lease runs out; the reconciler hands the change back and enqueues it.
    ChangeRequest.objects.filter(pk=change.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert apply.changes_reconcile() == [change.pk]
    assert run(change).outcome == "applied"
    assert calls(emulator) == [(DESCRIBE, None)]
    assert change.attempts == 2


def test_a_duplicate_message_finds_the_change_taken_and_writes_nothing(change, emulator):
    services.change_request_claim(
        change_id=change.pk, worker="elsewhere:1:alive", lease_seconds=30, max_attempts=4
    )
    before = len(apply_events(change))
    assert run(change, task_id="dup").outcome == "skipped"
    assert len(apply_events(change)) == before
    assert calls(emulator) == []


def test_a_run_whose_process_died_here_is_taken_over_at_once(change, emulator):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:task:nonce"
    services.change_request_claim(
        change_id=change.pk, worker=dead, lease_seconds=300, max_attempts=4
    )
    assert run(change).outcome == "applied"
    assert change.attempts == 2


def test_a_run_that_lost_its_lease_stops_without_writing(change, emulator, monkeypatch):
    def steal(*args, **kwargs):
        ChangeRequest.objects.filter(pk=change.pk).update(lease_owner="thief")
        raise apply.LeaseLost

    monkeypatch.setattr(apply._Run, "send", steal)
    assert run(change).outcome == "skipped"
    assert change.state == "applying" and change.lease_owner == "thief"


def test_the_reconciler_requeues_only_what_no_worker_has(
    change, target, editor, approver, settings
):
    settings.APPLY_REQUEUE_AFTER_SECONDS = 60
    fresh = approved_update(target, editor, approver, "weekly", 8)
    assert apply.changes_reconcile() == []
    old = timezone.now() - timedelta(seconds=120)
    ChangeRequest.objects.filter(pk=change.pk).update(updated_at=old)
    assert apply.changes_reconcile() == [change.pk]
    # Enqueued just now: not again until another APPLY_REQUEUE_AFTER_SECONDS have passed.
    assert apply.changes_reconcile() == []
    services.change_request_claim(
        change_id=fresh.pk, worker="w:1:x", lease_seconds=30, max_attempts=4
    )
    assert apply.changes_reconcile() == []
    ChangeRequest.objects.filter(pk=fresh.pk).update(lease_until=old)
    assert apply.changes_reconcile() == [fresh.pk]
    fresh.refresh_from_db()
    assert fresh.state == "approved"
    assert Event.LEASE_EXPIRED in [e.event for e in apply_events(fresh)]


def test_stage_hooks_are_off_unless_a_folder_is_set(change, tmp_path, settings):
    (tmp_path / "before_call.arm").write_text("")
    assert run(change).outcome == "applied"  # no folder set: the armed file is not looked at
    assert (tmp_path / "before_call.arm").exists()


def test_a_landed_update_without_a_description_is_recognised_by_its_token(
    target, editor, approver, emulator, monkeypatch
):
    # AWS cannot be sent a blank description; it keeps the old one. The live document then
    # differs from the approved one by that description, and must still count as landed.
    # Submit now refuses such a change (document.proposal_findings); one approved before that
    # rule must still apply cleanly.
    monkeypatch.setattr("frameworks.document.proposal_findings", lambda base, proposed: [])
    create = backup_client(target)
    create.create_framework(
        FrameworkName="terse", FrameworkDescription="old words", FrameworkControls=controls(21)
    )
    services.target_sync(target_id=target.pk)
    draft = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="update",
        framework_name="terse",
        document={"FrameworkName": "terse", "FrameworkControls": controls(22)},
    )
    change = approve(draft, editor, approver)
    emulator.control.clear_calls()
    emulator.control.drop_next(operation=UPDATE, after_action=True)
    first = run(change)
    assert retry(change, first).outcome == "applied"
    assert [c["effective"] for c in writes(emulator)] == [True]
    assert calls(emulator)[-1] == (DESCRIBE, None)


# --- the cost of one run ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 40])
def test_an_apply_run_costs_the_same_queries_and_parses_at_any_size(
    size, target, editor, approver, emulator, django_assert_num_queries, monkeypatch
):
    backup_client(target).create_framework(
        FrameworkName="big",
        FrameworkDescription="many controls",
        FrameworkControls=[control(i) for i in range(size)],
    )
    services.target_sync(target_id=target.pk)
    draft = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="update",
        framework_name="big",
        document={
            "FrameworkName": "big",
            "FrameworkDescription": "many controls",
            "FrameworkControls": [control(i + 500) for i in range(size)],
        },
    )
    change = approve(draft, editor, approver)
    parses = []
    real_parse = document.parse
    monkeypatch.setattr(document, "parse", lambda *a, **k: parses.append(1) or real_parse(*a, **k))
    versions = []
    real_as_document = DocumentVersion.as_document
    monkeypatch.setattr(
        DocumentVersion,
        "as_document",
        lambda self: versions.append(self.pk) or real_as_document(self),
    )
    # A claim, the call recorded before and after, and applied with the mirror: each a
    # transaction with its history row; the change row is read where the lease is checked;
    # its approvals once, where the request is checked against them, with the access changes
    # behind them (the four-eyes rule).
    with django_assert_num_queries(16 + history_appends(4)):
        assert apply.change_request_apply(change_id=change.pk, task_id="t").outcome == "applied"
    assert versions == [change.proposed_version_id]  # the approved version, parsed once
    # That version, each DescribeFramework answer (before and after the call), and the
    # request about to be sent (its hash is checked against the approvals), once.
    assert len(parses) == 4
