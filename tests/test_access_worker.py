"""The worker counts approvals by the four-eyes rule of access changes too: a change whose
state says approved but whose counted approvals fall short is failed with nothing sent."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from frameworks import apply, services
from frameworks.models import Approval, ChangeState, Decision, Event, HistoryEvent
from tests.applying import draft_update, writes
from tests.factories import set_state, user

pytestmark = pytest.mark.django_db

PASSWORD = "a long temporary passphrase 42"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.APPLY_POLL_INTERVAL_SECONDS = 0.01
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 2
    settings.APPLY_STAGE_HOOK_DIR = ""


def test_an_approved_state_resting_on_a_puppet_is_failed_before_anything_is_sent(target, emulator):
    adam = user("adam", "admin", "editor")
    services.person_create(user=adam, values={"username": "puppet"}, password=PASSWORD)
    puppet = User.objects.get(username="puppet")
    services.role_grant(user=adam, person_id=puppet.pk, role="approver")
    change = draft_update(target, adam, "daily", 7)
    services.change_request_submit(user=adam, change_id=change.pk, reason="needed")
    change.refresh_from_db()
    services.change_request_approve(
        user=User.objects.get(pk=puppet.pk), change_id=change.pk, content_hash=change.review_hash
    )
    change.refresh_from_db()
    assert change.state == ChangeState.SUBMITTED  # the approval did not count
    # Someone with the database's credentials marks it approved anyway.
    set_state(change, ChangeState.APPROVED)
    emulator.control.clear_calls()

    result = apply.change_request_apply(change_id=change.pk, task_id="t")

    change.refresh_from_db()
    assert result.outcome == "failed" and change.state == ChangeState.FAILED
    assert writes(emulator) == []
    refused = HistoryEvent.objects.get(change_request=change, event=Event.NOT_APPROVED_REFUSED)
    assert "without a second administrator confirming it" in str(refused.details)
    assert HistoryEvent.objects.filter(change_request=change, event=Event.FAILED).exists()


def test_a_forged_approval_and_a_puppets_cannot_make_up_the_number_between_them(target, emulator):
    """The puppet's approval has a MAC that verifies but fails the four-eyes rule; a row
    written in the database for a real approver passes the rule but has no MAC. Neither
    counts, so together they do not either."""
    adam = user("adam", "admin", "editor")
    alice = user("alice", "approver")
    services.person_create(user=adam, values={"username": "puppet"}, password=PASSWORD)
    puppet = User.objects.get(username="puppet")
    services.role_grant(user=adam, person_id=puppet.pk, role="approver")
    change = draft_update(target, adam, "daily", 7)
    services.change_request_submit(user=adam, change_id=change.pk, reason="needed")
    change.refresh_from_db()
    services.change_request_approve(
        user=User.objects.get(pk=puppet.pk), change_id=change.pk, content_hash=change.review_hash
    )
    Approval.objects.create(
        change_request=change,
        reviewer=alice,
        reviewer_key=alice.pk,
        reviewer_name="alice",
        author=adam,
        decision=Decision.APPROVE,
        content_hash=change.review_hash,
    )
    set_state(change, ChangeState.APPROVED)
    emulator.control.clear_calls()

    result = apply.change_request_apply(change_id=change.pk, task_id="t")

    change.refresh_from_db()
    assert result.outcome == "failed" and change.state == ChangeState.FAILED
    assert writes(emulator) == []
    refused = HistoryEvent.objects.get(change_request=change, event=Event.NOT_APPROVED_REFUSED)
    reasons = {item["reason"] for item in refused.details["approvals_not_counted"]}
    assert "its MAC does not verify" in reasons
    assert any("without a second administrator confirming it" in r for r in reasons)
