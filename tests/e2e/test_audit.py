"""The auditor's journey in Chromium: filter the history, open an event, export the view as
CSV and download the evidence pack."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from frameworks import checkpoints
from frameworks.history import Actor
from frameworks.models import Event, Outcome
from tests.audit_builders import rows, signing_key
from tests.e2e.conftest import axe_check, log_in, swapped
from tests.factories import make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_auditor_filters_opens_an_event_exports_and_downloads_the_pack(
    page, auditor, settings, tmp_path
):
    signing_key(settings, tmp_path)
    # The auditor's account is older than the period, so the pack shows their role at its start.
    type(auditor).objects.filter(pk=auditor.pk).update(
        date_joined=timezone.now() - timedelta(days=30)
    )
    prod = make_target("prod-eu", display_name="Production EU")
    rows(30, target=prod, framework="daily", details={"reason": "routine"})
    (failed,) = rows(
        1,
        target=prod,
        framework="daily",
        event=Event.ATTEMPT_FAILED,
        outcome=Outcome.ERROR,
        actor=Actor.worker("host:1:abc"),
        details={
            "attempt": 1,
            "request": {"operation": "UpdateFramework", "IdempotencyToken": "change-4-abc"},
            "error": {"code": "ThrottlingException", "message": "Rate exceeded"},
            "request_id": "req-42",
        },
    )
    checkpoints.checkpoint_write()

    log_in(page, auditor.username)
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit")).to_be_visible()
    expect(page.locator("#checkpoint")).to_contain_text("last anchored outside the database")
    events = page.get_by_role("region", name="Events")
    expect(events.get_by_role("row")).to_have_count(26)  # a header and 25 events

    swapped(page, "/audit/", lambda: page.get_by_label("Event kind").select_option("apply"))
    expect(events.get_by_role("row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"kind=apply"))
    axe_check(page)

    events.get_by_role("link", name="Attempt failed").click()
    expect(page.get_by_role("heading", name=re.compile("Attempt failed"))).to_be_visible()
    aws = page.get_by_role("region", name="AWS")
    expect(aws).to_contain_text("change-4-abc")
    expect(aws).to_contain_text("req-42")
    expect(aws).to_contain_text("Rate exceeded")
    expect(page.get_by_role("region", name="Its place in the chain")).to_be_visible()

    page.goto("/audit/?kind=apply")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [int(r["id"]) for r in exported] == [failed]

    today = timezone.now().date().isoformat()
    pack_form = page.get_by_role("region", name="Evidence pack")
    pack_form.get_by_label("From (UTC)").fill(today)
    pack_form.get_by_label("To (UTC, inclusive)").fill(today)
    with page.expect_download() as download_info:
        pack_form.get_by_role("button", name="Download the evidence pack").click()
    pack = zipfile.ZipFile(download_info.value.path())
    assert "summary.html" in pack.namelist() and "verify.py" in pack.namelist()
    # The summary reads on its own, offline.
    summary = tmp_path / "summary.html"
    summary.write_bytes(pack.read("summary.html"))
    page.goto(summary.as_uri())
    expect(page.get_by_role("heading", name=re.compile("Evidence pack"))).to_be_visible()
    expect(page.get_by_role("table").last).to_contain_text("Attempt failed")
    expect(page.get_by_role("heading", name="Roles at the start of the period")).to_be_visible()
    expect(page.get_by_role("heading", name="Access changes during the period")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("Held at"))).to_contain_text("auditor")
