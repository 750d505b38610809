"""What a person sees when the worker refused rows written around the console: a change whose
approved document was swapped ends failed, saying nothing was sent; a change whose document
version was edited in the database is not shown at all, in words."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from frameworks import apply
from tests.applying import approved_update
from tests.conftest import AXE_SOURCE
from tests.database import superuser_cursor
from tests.e2e.conftest import axe_check, log_in
from tests.test_apply_integrity import as_the_app, insert_version, other_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_approver_sees_the_worker_refused_a_document_nobody_approved(
    page, target, editor, approver, emulator
):
    change = approved_update(target, editor, approver, "daily", 7)
    with as_the_app() as cursor:
        swapped = insert_version(cursor, other_document(4242))
        cursor.execute(
            "UPDATE frameworks_changerequest SET proposed_version_id = %s WHERE id = %s",
            [swapped, change.pk],
        )
    assert apply.change_request_apply(change_id=change.pk, task_id="t").outcome == "failed"

    log_in(page, approver.username)
    page.goto(reverse("frameworks:change-detail", args=[change.pk]))
    section = page.get_by_role("region", name="Applying to AWS")
    expect(section).to_contain_text("What would have been sent is not what was approved")
    expect(section).to_contain_text("nothing was sent to AWS")
    page.goto(reverse("audit:page"))
    expect(page.get_by_role("main")).to_contain_text("Refused to send what was not approved")


def test_an_approver_is_told_a_document_version_was_changed_in_the_database(
    browser, live_server, target, editor, approver, emulator
):
    """Not the ``page`` fixture: the one console message a 409 page makes ("Failed to load
    resource") is expected here; anything else on the console still fails, and axe runs."""
    change = approved_update(target, editor, approver, "daily", 7)
    # Stored versions are append-only: editing one takes a database superuser's credentials.
    with superuser_cursor() as cursor:
        cursor.execute(
            "UPDATE frameworks_documentversion SET document = %s WHERE id = %s",
            [json.dumps(other_document(4444)), change.proposed_version_id],
        )
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(AXE_SOURCE))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        log_in(page, approver.username)
        page.goto(reverse("frameworks:change-detail", args=[change.pk]))
        expect(page.get_by_role("heading", name="This document cannot be shown")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text(
            f"Document version {change.proposed_version_id} was changed in the database"
        )
        axe_check(page)
    finally:
        context.close()
    assert errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
