"""A framework as it was: an editor reads it at an earlier date, compares two versions, and
starts a change from an old one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from frameworks.models import ChangeRequest, Event
from tests.e2e.conftest import axe_check, log_in, swapped
from tests.factories import make_live_framework, make_target
from tests.test_versions import FEB, JAN, doc_with, seen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_reads_a_framework_as_it_was_compares_and_starts_a_change_from_it(page, editor):
    target = make_target("prod-eu")
    jan = seen(target, Event.SYNC_NEW, doc_with([7]), JAN)
    feb = seen(target, Event.SYNC_CHANGED, doc_with([7, 14], "Two weeks too"), FEB)
    framework = make_live_framework(target, "daily", controls=3)
    seen(target, Event.SYNC_CHANGED, framework.api_document(), timezone.now() - timedelta(hours=1))

    log_in(page, editor.username)
    page.goto("/frameworks/prod-eu/daily/")
    page.get_by_role("link", name="Versions: the framework at any date").click()
    expect(page.get_by_role("heading", name="daily: as it was")).to_be_visible()

    # The framework at a date in February: its two controls then, swapped in by htmx.
    page.get_by_label("Show it as it was at (UTC)").fill("2026-02-20T12:00")
    swapped(page, "/versions/", lambda: page.get_by_role("button", name="Show").click())
    as_of = page.get_by_role("region", name="As it was at 20 Feb 2026 12:00:00 UTC")
    expect(as_of).to_contain_text(f"This is version {feb}")
    expect(as_of).to_contain_text("Two weeks too")
    expect(as_of.get_by_role("list", name="Controls then").get_by_role("heading")).to_have_count(2)
    assert "at=2026-02-20T12" in page.url  # the view is its address
    axe_check(page)

    # The diff from January to February.
    page.get_by_role("radio", name=f"Compare from version {jan}").check()
    page.get_by_role("radio", name=f"Compare to version {feb}").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="daily: compare versions")).to_be_visible()
    changes = page.get_by_role("region", name="What changes")
    expect(changes).to_contain_text("Add the control")
    expect(changes).to_contain_text("Change the description from “daily framework”")

    # Back to January, and a change from it.
    page.go_back()
    page.get_by_role("link", name=f"Show version {jan}").click()
    expect(page.get_by_role("region", name="As it was at")).to_contain_text(
        f"This is version {jan}"
    )
    page.get_by_role("button", name="Start a change from this version").click()
    change = ChangeRequest.objects.get()
    expect(page.get_by_role("status")).to_contain_text(
        f"Draft #{change.pk} proposes daily as it was in version {jan}"
    )
    expect(page.get_by_role("heading", name=f"Change #{change.pk}: update daily")).to_be_visible()
    proposal = page.get_by_role("region", name="Proposal")
    expect(proposal.locator("li.control")).to_have_count(1)
    expect(page.get_by_role("region", name="What changes")).to_contain_text("Remove the control")
    expect(page.get_by_role("link", name="Edit the draft")).to_be_visible()
