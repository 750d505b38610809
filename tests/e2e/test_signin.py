"""Signing in with the wrong password too often: the console says signing in is paused, for
how long, and that other places are not affected; the right password then waits too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_wrong_passwords_again_and_again_pause_signing_in(page, approver, settings):
    settings.SIGNIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3
    settings.SIGNIN_COOLOFF_MINUTES = 15
    for _ in range(2):
        log_in(page, approver.username, "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    log_in(page, approver.username, "not-the-password")
    expect(page.get_by_role("heading", name="Signing in is paused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "after 3 wrong passwords for this account from your address"
    )
    expect(page.get_by_role("alert")).to_contain_text("paused for 15 minutes")

    # The right password is refused as well until the pause ends.
    page.get_by_role("link", name="Back to the login page").click()
    log_in(page, approver.username)
    expect(page.get_by_role("heading", name="Signing in is paused")).to_be_visible()
