"""A framework changed in AWS by anyone but this console: sync says so in words, tells the
target's admins, and the audit page filters for it."""

from __future__ import annotations

import boto3
import pytest

from frameworks import history, services
from frameworks.apply import idempotency_token
from frameworks.history import Actor
from frameworks.models import ChangeKind, Event, HistoryEvent
from tests.conftest import client_for
from tests.factories import controls, grant, user

pytestmark = pytest.mark.django_db


def test_a_change_made_outside_the_console_is_found_mailed_and_filterable(
    target, emulator, editor, admin_user, auditor, mailoutbox, django_capture_on_commit_callbacks
):
    aws = boto3.Session(profile_name="acct1", region_name="eu-west-1").client(
        "backup", endpoint_url=emulator.url
    )
    aws.create_framework(FrameworkName="daily", FrameworkControls=controls(7))
    aws.create_framework(FrameworkName="weekly", FrameworkControls=controls(14))
    # The first sync imports what is there: that is not news for the admins.
    with django_capture_on_commit_callbacks(execute=True):
        services.target_sync(target_id=target.pk)
    assert mailoutbox == []
    target_admin = grant(user("tad"), "admin", target)
    change = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind=ChangeKind.UPDATE,
        framework_name="daily",
        document={"FrameworkControls": controls(30)},
    )
    # The console's own change (its worker records the token it sends), and someone else's
    # straight in AWS.
    token = idempotency_token(change)
    history.append(
        Event.ATTEMPT_STARTED,
        Actor.worker("host:1:w"),
        change_request=change,
        details={"request": {"operation": "UpdateFramework", "IdempotencyToken": token}},
    )
    aws.update_framework(
        FrameworkName="daily",
        FrameworkControls=controls(30),
        IdempotencyToken=token,
    )
    aws.update_framework(FrameworkName="weekly", FrameworkControls=controls(1))
    with django_capture_on_commit_callbacks(execute=True):
        services.target_sync(target_id=target.pk)

    rows = {r.framework_name: r for r in HistoryEvent.objects.filter(event=Event.SYNC_CHANGED)}
    assert rows["weekly"].details["outside_console"] is True
    assert "outside_console" not in rows["daily"].details
    assert sorted(m.to[0] for m in mailoutbox) == sorted([admin_user.email, target_admin.email])
    assert "weekly" in mailoutbox[0].body and "daily" not in mailoutbox[0].body
    assert "outside=1" in mailoutbox[0].body

    page = client_for(auditor).get("/audit/?outside=1").content.decode()
    assert f'href="/audit/events/{rows["weekly"].id}/"' in page
    assert f'href="/audit/events/{rows["daily"].id}/"' not in page
    assert "made outside the console" in page
    detail = client_for(auditor).get(f"/audit/events/{rows['weekly'].id}/").content.decode()
    assert "changed in AWS by someone outside this console" in detail
