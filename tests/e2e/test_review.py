"""The review, as people do it in Chromium: an editor submits, an approver finds the change in
the queue, reads the difference and approves; the author could never have approved it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from frameworks import tasks
from frameworks.models import ChangeRequest, ChangeState
from tests.e2e.conftest import log_in
from tests.factories import draft, live_framework, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Approval hands the change to the apply worker: kept here, not sent to a broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.apply_change, "delay", lambda change_id: sent.append(change_id))
    return sent


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()


def test_an_editor_submits_and_an_approver_reviews_and_approves(
    page, editor, approver, other_editor, enqueued
):
    # The author also approves changes elsewhere: the product, not the role, keeps them apart.
    editor.groups.add(Group.objects.get_or_create(name="approver")[0])
    framework = live_framework(make_target("prod-eu"), "daily_backups")
    change = draft(editor, framework)

    log_in(page, editor.username)
    page.goto(f"/frameworks/changes/{change.pk}/")
    page.get_by_label("Why make this change?").fill("Auditors want 35 days of recovery points")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("Submitted for review")
    expect(page.locator(".state-submitted").first).to_have_text("Submitted")
    # Never offered approval of their own change, and their own change is not in their queue.
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_have_count(0)
    expect(page.get_by_role("link", name="Awaiting my review")).to_have_text("Awaiting my review")

    # A forged approval, with a valid CSRF token: refused, recorded, nothing changes.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    change.refresh_from_db()
    forged = page.request.post(
        f"/frameworks/changes/{change.pk}/approve/",
        form={"content_hash": change.review_hash},
        headers={"X-CSRFToken": token},
    )
    assert forged.status == 403
    assert "someone else must approve it" in forged.text()
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    log_out(page)

    log_in(page, approver.username)
    queue_link = page.get_by_role("link", name=re.compile("Awaiting my review"))
    expect(queue_link).to_contain_text("1")
    queue_link.click()
    expect(page.get_by_role("heading", name="Awaiting my review")).to_be_visible()
    page.get_by_role("link", name=re.compile("daily_backups")).click()

    expect(page.get_by_role("heading", name=re.compile("Change #"))).to_contain_text(
        "daily_backups"
    )
    changes = page.get_by_role("region", name="What changes")
    expect(changes).to_contain_text("Add the control")
    expect(changes).to_contain_text("Keep recovery points longer")
    expect(page.get_by_role("region", name="Reason")).to_contain_text("Auditors want 35 days")
    expect(page.get_by_role("region", name="Proposal").locator(".mark-added")).to_have_count(1)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    timeline = page.get_by_role("region", name="Timeline")
    for event in ("Draft created", "Submitted", "Access denied", "Approved"):
        expect(timeline).to_contain_text(event)
    expect(page.get_by_role("link", name="Awaiting my review")).to_have_text("Awaiting my review")
    assert enqueued == [change.pk]
    log_out(page)

    # Another editor cannot open a second change on that framework while this one is open.
    second = draft(other_editor, framework)
    log_in(page, other_editor.username)
    page.goto(f"/frameworks/changes/{second.pk}/")
    page.get_by_label("Why make this change?").fill("Mine too")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("already open")
    assert ChangeRequest.objects.get(pk=second.pk).state == ChangeState.DRAFT
