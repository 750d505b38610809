"""The worker sends only what was approved, whatever someone holding only the app's database
credentials writes: a swapped or edited document version, a forged approval row. Each attack
is made with raw SQL on the app's own connection, and the emulator's call log must show that
no write reached AWS. verify_history checks the requests the history records the same way."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from frameworks import apply, approvals, document, history, services
from frameworks.models import (
    Approval,
    ChangeRequest,
    Decision,
    DocumentVersion,
    Event,
    Framework,
    HistoryEvent,
    TamperedVersion,
)
from tests.applying import (
    approve,
    approved_delete,
    approved_update,
    backup_client,
    controls,
    create_in_aws,
    draft_update,
)
from tests.conftest import client_for
from tests.database import superuser_cursor

pytestmark = pytest.mark.django_db

WRITES = ("UpdateFramework", "CreateFramework", "DeleteFramework", "TagResource", "UntagResource")


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.APPLY_POLL_INTERVAL_SECONDS = 0.01
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 2
    settings.APPLY_RETRY_BASE_SECONDS = 0.01
    settings.APPLY_RETRY_MAX_DELAY_SECONDS = 0.05
    settings.APPLY_LEASE_SECONDS = 30
    settings.APPLY_MAX_ATTEMPTS = 4
    settings.APPLY_STAGE_HOOK_DIR = ""


@contextmanager
def as_the_app() -> Iterator[Any]:
    """Raw SQL on the app's own connection, with only what its credentials may do (in CI, the
    app role of ``manage.py db_roles``: it may insert document versions and update change
    requests and approvals, not edit a stored version)."""
    with connection.cursor() as cursor:
        yield cursor


def run(change: ChangeRequest) -> apply.ApplyResult:
    result = apply.change_request_apply(change_id=change.pk, task_id="t")
    change.refresh_from_db()
    return result


def writes_seen(emulator: Any) -> list[str]:
    return [c["operation"] for c in emulator.control.calls() if c["operation"] in WRITES]


def rows(change: ChangeRequest, event: str) -> list[HistoryEvent]:
    return list(
        HistoryEvent.objects.filter(change_request_id=change.pk, event=event).order_by("id")
    )


def other_document(days: int) -> dict[str, Any]:
    doc = document.parse(
        {"FrameworkDescription": "not what was approved", "FrameworkControls": controls(days)}
    )
    return DocumentVersion.api_form(doc)


def insert_version(cursor: Any, api: dict[str, Any]) -> int:
    digest = document.content_hash(document.parse(api))
    cursor.execute(
        "INSERT INTO frameworks_documentversion (content_hash, document, created_at) "
        "VALUES (%s, %s, %s)",
        [digest, json.dumps(api), timezone.now()],
    )
    cursor.execute("SELECT id FROM frameworks_documentversion WHERE content_hash = %s", [digest])
    return cursor.fetchone()[0]


def assert_refused_with(change: ChangeRequest, event: str, code: str, emulator: Any) -> None:
    assert change.state == "failed"
    assert change.last_error["code"] == code
    assert writes_seen(emulator) == []  # nothing reached AWS
    (security,) = rows(change, event)
    assert security.outcome == "denied"
    assert security.details["nothing_sent"] is True
    assert rows(change, Event.FAILED)
    assert not rows(change, Event.ATTEMPT_STARTED)  # no request recorded as sent


@pytest.fixture
def change(target, editor, approver, emulator):
    made = approved_update(target, editor, approver, "daily", 7)
    emulator.control.clear_calls()
    return made


# --- the normal flow ------------------------------------------------------------------------


def test_an_approved_change_is_sent_naming_the_approvals_it_was_checked_against(
    change, approver, emulator
):
    assert run(change).outcome == "applied"
    assert writes_seen(emulator) == ["UpdateFramework"]
    (started,) = rows(change, Event.ATTEMPT_STARTED)
    (approval,) = change.approvals.all()
    assert started.details["approvals"] == [{"approval_id": approval.pk, "reviewer": "alice"}]
    assert approval.reviewer_key == approver.pk
    assert approvals.verifies(approval)
    out = StringIO()
    call_command("verify_history", stdout=out)
    assert "every request sent matches its approvals" in out.getvalue()


def test_a_delete_is_checked_against_the_document_it_deletes(target, editor, approver, emulator):
    made = approved_delete(target, editor, approver, "old", 9)
    emulator.control.clear_calls()
    assert run(made).outcome == "applied"
    assert writes_seen(emulator) == ["DeleteFramework"]
    call_command("verify_history", stdout=StringIO())


# --- the attacks ----------------------------------------------------------------------------


def test_an_unapproved_version_swapped_in_is_refused_and_nothing_is_sent(change, emulator):
    approved_hash = change.review_hash
    with as_the_app() as cursor:
        swapped = insert_version(cursor, other_document(4242))
        cursor.execute(
            "UPDATE frameworks_changerequest SET proposed_version_id = %s WHERE id = %s",
            [swapped, change.pk],
        )
    assert run(change).outcome == "failed"
    assert_refused_with(change, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)
    (security,) = rows(change, Event.NOT_APPROVED_REFUSED)
    assert security.details["words"].startswith(
        "What would have been sent is not what was approved"
    )
    assert security.details["approved_hashes"] == [approved_hash]
    assert security.details["sent_hash"] != approved_hash
    assert "nothing was sent to AWS" in change.last_error["words"]
    assert history.verify() == (HistoryEvent.objects.count(), None)


@pytest.mark.parametrize("kind", ["update", "delete"])
def test_an_approved_change_repointed_at_another_framework_is_refused(
    target, editor, approver, emulator, kind
):
    """The approved document (or deletion) aimed at another framework whose live document
    the row now names as its base: the call would go through in AWS, so only the approvals'
    MAC, which covers the framework and the base, stops it."""
    create_in_aws(target, "critical", 31)
    services.target_sync(target_id=target.pk)
    made = (
        approved_update(target, editor, approver, "daily", 7)
        if kind == "update"
        else approved_delete(target, editor, approver, "old", 9)
    )
    critical = Framework.objects.get(target=target, name="critical")
    live = DocumentVersion.objects.get(content_hash=critical.content_hash)
    emulator.control.clear_calls()
    with as_the_app() as cursor:
        cursor.execute(
            "UPDATE frameworks_changerequest SET framework_name = 'critical', "
            "framework_id = %s, base_version_id = %s WHERE id = %s",
            [critical.pk, live.pk, made.pk],
        )
    assert run(made).outcome == "failed"
    assert_refused_with(made, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)
    assert backup_client(target).describe_framework(FrameworkName="critical")


def test_a_version_edited_in_place_is_refused_on_read(change, approver, emulator):
    # Stored versions are append-only: editing one takes a database superuser's credentials.
    with superuser_cursor() as cursor:
        cursor.execute(
            "UPDATE frameworks_documentversion SET document = %s WHERE id = %s",
            [json.dumps(other_document(4444)), change.proposed_version_id],
        )
    version = DocumentVersion.objects.get(pk=change.proposed_version_id)
    with pytest.raises(TamperedVersion):
        version.as_document()
    # The change's page says so in words, not a 500.
    page = client_for(approver).get(reverse("frameworks:change-detail", args=[change.pk]))
    assert page.status_code == 409
    assert f"Document version {version.pk} was changed in the database" in page.text
    assert run(change).outcome == "failed"
    assert_refused_with(change, Event.VERSION_TAMPERED, "VersionTampered", emulator)
    (security,) = rows(change, Event.VERSION_TAMPERED)
    assert security.details["version_id"] == version.pk


def test_a_version_edited_with_its_hash_recomputed_is_not_what_was_approved(change, emulator):
    edited = other_document(4545)
    # Stored versions are append-only: editing one takes a database superuser's credentials.
    with superuser_cursor() as cursor:
        cursor.execute(
            "UPDATE frameworks_documentversion SET document = %s, content_hash = %s WHERE id = %s",
            [
                json.dumps(edited),
                document.content_hash(document.parse(edited)),
                change.proposed_version_id,
            ],
        )
    assert run(change).outcome == "failed"
    assert_refused_with(change, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)


def insert_approval(cursor: Any, change: ChangeRequest, reviewer: Any, mac: str = "") -> None:
    cursor.execute(
        "INSERT INTO frameworks_approval (change_request_id, reviewer_id, reviewer_key, "
        "reviewer_name, author_id, decision, content_hash, reason, created_at, mac, "
        "dismissed_reason) VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s, %s, '')",
        [
            change.pk,
            reviewer.pk,
            reviewer.pk,
            reviewer.get_username(),
            change.author_id,
            Decision.APPROVE,
            change.review_hash,
            timezone.now(),
            mac,
        ],
    )


@pytest.mark.parametrize("mac", ["", "0" * 64])
def test_a_forged_approval_row_does_not_count(target, editor, approver, emulator, mac):
    made = draft_update(target, editor, "daily", 7)
    services.change_request_submit(user=editor, change_id=made.pk, reason="needed")
    made.refresh_from_db()
    with as_the_app() as cursor:
        insert_approval(cursor, made, approver, mac=mac)
        cursor.execute(
            "UPDATE frameworks_changerequest SET state = 'approved' WHERE id = %s", [made.pk]
        )
    made.refresh_from_db()
    assert len(made.current_approvals()) == 1  # what the page's count trusts
    count = approvals.counting_approvals(made, made.review_hash)
    assert count.counted == []
    assert [why for _, why in count.set_aside] == ["its MAC does not verify"]
    emulator.control.clear_calls()
    assert run(made).outcome == "failed"
    assert_refused_with(made, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)
    (security,) = rows(made, Event.NOT_APPROVED_REFUSED)
    assert security.details["approvals_counted"] == 0
    assert security.details["approvals_not_counted"][0]["reason"] == "its MAC does not verify"


def test_a_genuine_approval_copied_for_another_person_counts_once(
    target, editor, approver, other_approver, emulator
):
    target.required_approvals = 2
    target.save(update_fields=["required_approvals"])
    made = approve_once(target, editor, approver)
    genuine = made.approvals.get()
    # A copy of the signed row, MAC and all, given to another approver: its MAC covers the
    # approver, so either it does not verify or it is the same approver again.
    with as_the_app() as cursor:
        for key in (other_approver.pk, approver.pk):
            cursor.execute(
                "INSERT INTO frameworks_approval (change_request_id, reviewer_id, reviewer_key, "
                "reviewer_name, author_id, decision, content_hash, reason, created_at, mac, "
                "dismissed_reason) SELECT change_request_id, %s, %s, reviewer_name, author_id, "
                "decision, content_hash, reason, created_at, mac, dismissed_reason "
                "FROM frameworks_approval WHERE id = %s",
                [other_approver.pk, key, genuine.pk],
            )
        cursor.execute(
            "UPDATE frameworks_changerequest SET state = 'approved' WHERE id = %s", [made.pk]
        )
    made.refresh_from_db()
    assert len(made.current_approvals()) == 2  # the page would be fooled
    counted = approvals.counting_approvals(made, made.review_hash).counted
    assert [a.reviewer_key for a in counted] == [approver.pk]  # alice, once
    emulator.control.clear_calls()
    assert run(made).outcome == "failed"
    assert_refused_with(made, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)


def approve_once(target, editor, approver) -> ChangeRequest:
    made = draft_update(target, editor, "daily", 7)
    services.change_request_submit(user=editor, change_id=made.pk, reason="needed")
    services.change_request_approve(
        user=approver,
        change_id=made.pk,
        content_hash=ChangeRequest.objects.get(pk=made.pk).review_hash,
    )
    made.refresh_from_db()
    assert made.state == "submitted"  # one of two
    return made


def test_lowering_the_required_approvals_in_the_database_gains_nothing(
    target, editor, approver, emulator
):
    target.required_approvals = 2
    target.save(update_fields=["required_approvals"])
    made = approve_once(target, editor, approver)
    with as_the_app() as cursor:
        cursor.execute(
            "UPDATE frameworks_changerequest SET state = 'approved', required_approvals = 1 "
            "WHERE id = %s",
            [made.pk],
        )
    emulator.control.clear_calls()
    assert run(made).outcome == "failed"
    assert_refused_with(made, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)


# --- the MAC and its key --------------------------------------------------------------------


def test_an_approval_signed_with_another_key_does_not_verify(change, settings):
    (approval,) = change.approvals.all()
    assert approvals.verifies(approval)  # signed with the key derived from SECRET_KEY
    settings.APPROVAL_MAC_KEY = "a-key-of-its-own"
    assert not approvals.verifies(approval)
    settings.APPROVAL_MAC_KEY = ""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated", [settings.SECRET_KEY]
    assert approvals.verifies(approval)  # Django's rotation: the old key still verifies


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("content_hash", "f" * 64),
        ("reviewer_key", 999),
        ("reviewer_name", "mallory"),
        ("decision", Decision.REJECT),
    ],
)
def test_every_field_the_mac_covers_breaks_it_when_edited(change, column, value):
    (approval,) = change.approvals.all()
    setattr(approval, column, value)
    assert not approvals.verifies(approval, change)
    approval.refresh_from_db()
    approval.created_at += timedelta(microseconds=1)
    assert not approvals.verifies(approval, change)


@pytest.mark.parametrize(
    ("field", "value"), [("framework_name", "critical"), ("target_id", 999), ("kind", "create")]
)
def test_the_mac_covers_what_the_change_is_about(change, field, value):
    (approval,) = change.approvals.all()
    assert approvals.verifies(approval, change)
    setattr(change, field, value)
    assert not approvals.verifies(approval, change)


def test_old_approvals_are_signed_at_migrate_time_only_where_the_history_shows_them(
    target, editor, approver, other_approver
):
    made = approve_once_needing_one(target, editor, approver)
    genuine = made.approvals.get()
    # What the table held before approvals were signed, plus a row inserted around the
    # services (no "approved" history row of that person).
    Approval.objects.filter(pk=genuine.pk).update(mac="", reviewer_key=None)
    forged = Approval.objects.create(
        change_request=made,
        reviewer=other_approver,
        reviewer_name=other_approver.get_username(),
        decision=Decision.APPROVE,
        content_hash=made.review_hash,
    )
    migration = importlib.import_module("frameworks.migrations.0012_approval_mac")
    migration.sign_recorded_decisions(django_apps, None)
    genuine.refresh_from_db()
    forged.refresh_from_db()
    assert approvals.verifies(genuine) and genuine.reviewer_key == approver.pk
    assert forged.mac == "" and not approvals.verifies(forged)


def approve_once_needing_one(target, editor, approver) -> ChangeRequest:
    return approve(draft_update(target, editor, "daily", 7), editor, approver)


# --- verify_history -------------------------------------------------------------------------


def verify_fails(words: str) -> None:
    err = StringIO()
    with pytest.raises(CommandError, match="not what was approved") as failed:
        call_command("verify_history", stdout=StringIO(), stderr=err)
    assert words in str(failed.value)
    assert words in err.getvalue()


def test_verify_history_names_a_change_whose_approval_was_edited_after_it_was_sent(change):
    assert run(change).outcome == "applied"
    (approval,) = change.approvals.all()
    with as_the_app() as cursor:
        cursor.execute("UPDATE frameworks_approval SET mac = '' WHERE id = %s", [approval.pk])
    verify_fails(f"Change #{change.pk} (daily on Production EU)")
    verify_fails(f"approval {approval.pk} (alice) has a MAC that does not verify")


def test_verify_history_names_a_request_sent_that_no_approval_covers(change):
    """What a worker without the check left in the history: the request it sent (recorded
    through the services, so the chain holds) carries a document nobody approved."""
    claimed = services.change_request_claim(
        change_id=change.pk, worker="old-worker", lease_seconds=30, max_attempts=4
    )
    kwargs = document.update_kwargs(
        document.parse({"FrameworkControls": controls(4646)}), change.framework_name
    )
    services.change_request_record_attempt(
        change_id=claimed.pk,
        worker="old-worker",
        stage="started",
        request={"operation": "UpdateFramework", **kwargs},
    )
    assert history.verify()[1] is None  # the chain itself is intact
    verify_fails(f"Change #{change.pk} (daily on Production EU): the UpdateFramework request")
    verify_fails("0 approval(s) that verify approved what was sent")


# --- tags -----------------------------------------------------------------------------------


def test_a_tags_only_change_whose_approval_lost_its_mac_sends_no_tag_call(
    target, editor, approver, emulator
):
    from tests.test_apply_tags import tag_draft, tagged_framework

    arn = tagged_framework(target)
    made = approve(tag_draft(target, editor, "tagged", {"Owner": "compliance"}), editor, approver)
    assert made.tags_only
    with as_the_app() as cursor:
        cursor.execute(
            "UPDATE frameworks_approval SET mac = '' WHERE change_request_id = %s", [made.pk]
        )
    emulator.control.clear_calls()
    assert run(made).outcome == "failed"
    assert_refused_with(made, Event.NOT_APPROVED_REFUSED, "NotApproved", emulator)
    assert backup_client(target).list_tags(ResourceArn=arn)["Tags"] == {
        "Owner": "backup-team",
        "Old": "x",
    }


def test_tag_calls_name_their_approvals_and_verify_history_checks_them(
    target, editor, approver, emulator
):
    from tests.test_apply_tags import tag_draft, tagged_framework

    tagged_framework(target)
    made = approve(tag_draft(target, editor, "tagged", {"Owner": "compliance"}), editor, approver)
    assert run(made).outcome == "applied"
    started = rows(made, Event.ATTEMPT_STARTED)
    assert [r.details["request"]["operation"] for r in started] == ["TagResource", "UntagResource"]
    assert all(r.details["approvals"] for r in started)
    call_command("verify_history", stdout=StringIO())


def test_a_signed_approval_by_the_changes_author_does_not_count(change, editor):
    """The four-eyes rule again where the worker counts, should a signed row ever name the
    author (the services refuse to write one; the database refuses reviewer = author)."""
    own = Approval(
        change_request=change,
        reviewer=None,
        reviewer_key=editor.pk,
        reviewer_name=editor.get_username(),
        decision=Decision.APPROVE,
        content_hash=change.review_hash,
        created_at=timezone.now(),
    )
    own.mac = approvals.sign(own, change)
    own.save()
    count = approvals.counting_approvals(change, change.review_hash)
    assert [a.reviewer_name for a in count.counted] == ["alice"]
    assert [(a.pk, why) for a, why in count.set_aside] == [
        (own.pk, "its approver wrote the change")
    ]
