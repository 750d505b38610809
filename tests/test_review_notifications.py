"""E-mail: the target's approvers on submit; the author on approve, reject, stale, applied and
failed. Sent once the transaction commits, never for a refused transition."""

from __future__ import annotations

import boto3
import pytest
from django.urls import reverse

from frameworks import services, tasks
from frameworks.models import ChangeRequest, ChangeState
from tests.conftest import client_for
from tests.factories import draft, grant, live_framework, submitted, user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The apply tasks approval enqueues, kept here instead of sent to a broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.apply_change, "delay", lambda change_id: sent.append(change_id))
    return sent


@pytest.fixture
def people(people: dict) -> dict:
    """The shared cast, with an approver of each target only and one who edits and approves."""
    return {
        **people,
        "prod_approver": grant(user("pat"), "approver", people["target"]),
        "dev_approver": grant(user("dev"), "approver", people["other_target"]),
        "both": user("both", "editor", "approver"),
    }


def addresses(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


def test_submitting_tells_every_approver_of_the_target_and_no_one_else(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    change = draft(people["both"], live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["both"]).post(
            reverse("frameworks:change-submit", args=[change.pk]), {"reason": "Keep 35 days"}
        )
    assert response.status_code == 302
    # Not the author (although an approver), not an approver of another target, not auditors.
    assert addresses(mailoutbox) == ["alice@example.com", "pat@example.com"]
    assert all(len(message.to) == 1 for message in mailoutbox)  # nobody sees the others
    message = mailoutbox[0]
    assert "awaits your review" in message.subject and "daily" in message.subject
    assert "Keep 35 days" in message.body
    assert "Add the control" in message.body
    assert f"/frameworks/changes/{change.pk}/" in message.body


def test_nothing_is_sent_before_the_transaction_commits(people, mailoutbox):
    change = draft(people["author"], live_framework(people["target"]))
    services.change_request_submit(user=people["author"], change_id=change.pk, reason="Because")
    assert mailoutbox == []  # the test's transaction never commits


def test_a_refused_submit_sends_nothing(people, mailoutbox, django_capture_on_commit_callbacks):
    change = draft(people["author"], live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["author"]).post(
            reverse("frameworks:change-submit", args=[change.pk]), {"reason": ""}
        )
    assert mailoutbox == []


def test_approval_tells_the_author_and_enqueues_the_apply_once(
    people, mailoutbox, enqueued, django_capture_on_commit_callbacks
):
    change = submitted(people["author"], live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["approver"]).post(
            reverse("frameworks:change-approve", args=[change.pk]),
            {"content_hash": change.proposed_hash},
        )
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.APPROVED
    assert addresses(mailoutbox) == ["erin@example.com"]
    assert "approved" in mailoutbox[0].subject and "By: alice" in mailoutbox[0].body
    assert enqueued == [change.pk]


def test_an_approval_short_of_the_required_number_tells_no_one_and_enqueues_nothing(
    people, mailoutbox, enqueued, django_capture_on_commit_callbacks
):
    people["target"].required_approvals = 2
    people["target"].save(update_fields=["required_approvals"])
    change = submitted(people["author"], live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["approver"]).post(
            reverse("frameworks:change-approve", args=[change.pk]),
            {"content_hash": change.proposed_hash},
        )
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    assert mailoutbox == [] and enqueued == []
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["prod_approver"]).post(
            reverse("frameworks:change-approve", args=[change.pk]),
            {"content_hash": change.proposed_hash},
        )
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.APPROVED
    assert addresses(mailoutbox) == ["erin@example.com"] and enqueued == [change.pk]


def test_rejection_tells_the_author_why(people, mailoutbox, django_capture_on_commit_callbacks):
    change = submitted(people["author"], live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["approver"]).post(
            reverse("frameworks:change-reject", args=[change.pk]),
            {"content_hash": change.proposed_hash, "reason": "35 days is not enough"},
        )
    assert addresses(mailoutbox) == ["erin@example.com"]
    assert "rejected" in mailoutbox[0].subject
    assert "35 days is not enough" in mailoutbox[0].body


def test_an_author_without_an_address_is_simply_not_written_to(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    author = people["author"]
    author.email = ""
    author.save(update_fields=["email"])
    change = submitted(author, live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["approver"]).post(
            reverse("frameworks:change-approve", args=[change.pk]),
            {"content_hash": change.proposed_hash},
        )
    assert mailoutbox == []


def test_a_mail_server_that_is_down_does_not_undo_or_hide_the_transition(
    people, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.test_review_notifications.BrokenBackend"
    change = draft(people["author"], live_framework(people["target"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["author"]).post(
            reverse("frameworks:change-submit", args=[change.pk]), {"reason": "Because"}
        )
    assert response.status_code == 302
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    assert "could not send" in caplog.text


class BrokenBackend:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: list) -> int:
        raise ConnectionRefusedError("smtp is down")


# --- stale, applied, failed: told by sync and by the apply worker ------------------------------


def test_sync_finding_the_framework_moved_tells_the_author_the_change_is_stale(
    target, emulator, editor, mailoutbox, django_capture_on_commit_callbacks
):
    author = editor
    aws = boto3.Session(profile_name="acct1", region_name="eu-west-1").client(
        "backup", endpoint_url=emulator.url
    )
    controls = [{"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}]
    aws.create_framework(FrameworkName="daily", FrameworkControls=controls)
    services.target_sync(target_id=target.pk)
    change = submitted(author, target.frameworks.get(name="daily"))
    aws.update_framework(
        FrameworkName="daily",
        FrameworkControls=[
            *controls,
            {"ControlName": "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.target_sync(target_id=target.pk)
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.STALE
    assert addresses(mailoutbox) == ["erin@example.com"]
    assert "needs a rebase" in mailoutbox[0].subject


@pytest.mark.parametrize("end", ["applied", "failed"])
def test_the_worker_ending_a_change_tells_the_author(
    people, end, mailoutbox, django_capture_on_commit_callbacks
):
    change = submitted(people["author"], live_framework(people["target"]))
    services.change_request_approve(
        user=people["approver"], change_id=change.pk, content_hash=change.proposed_hash
    )
    services.change_request_claim(
        change_id=change.pk, worker="w1", lease_seconds=60, max_attempts=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        if end == "applied":
            services.change_request_mark_applied(
                change_id=change.pk,
                worker="w1",
                described={"FrameworkName": "daily", **change.proposed_version.document},
            )
        else:
            services.change_request_mark_failed(
                change_id=change.pk,
                worker="w1",
                error={"code": "InvalidParameterValueException", "message": "bad value"},
            )
    assert ChangeRequest.objects.get(pk=change.pk).state == end
    assert addresses(mailoutbox) == ["erin@example.com"]
    assert end in mailoutbox[0].subject
