"""Administrators' People pages in a browser: create a person, grant and remove a role, confirm
a pending access change as the second admin, reset a password, and the notice where four eyes
cannot be guaranteed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import live_framework, make_target, user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEMPORARY = "a long temporary passphrase 42"


def open_people(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()


def test_an_admin_creates_a_person_grants_a_role_on_one_target_and_removes_it(page):
    make_target("prod-eu", display_name="Production EU")
    user("adam", "admin", password="password")
    log_in(page, "adam")
    open_people(page)
    # One admin only: the page says so for the target.
    expect(page.get_by_text("four eyes cannot be guaranteed there")).to_be_visible()
    page.get_by_role("link", name="Create a person").click()
    page.get_by_label("User name").fill("pia")
    page.get_by_label("E-mail address").fill("pia@example.com")
    page.get_by_label("Temporary password").fill(TEMPORARY)
    page.get_by_role("button", name="Create the account").click()

    expect(page.get_by_role("heading", name="pia")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Created pia")
    roles = page.get_by_role("region", name="Roles")
    expect(roles).to_contain_text("No role.")
    page.get_by_label("Role", exact=True).select_option(label="Approver")
    page.get_by_label("Where").select_option(label="Production EU")
    page.get_by_role("button", name="Grant the role").click()
    expect(page.get_by_role("status")).to_contain_text("make pia approver of Production EU")
    expect(roles.get_by_role("row").filter(has_text="Production EU")).to_contain_text("approver")
    changes = page.get_by_role("region", name="Access changes")
    expect(changes.get_by_role("row").filter(has_text="Make pia approver")).to_contain_text(
        "not confirmed"
    )

    page.get_by_role("button", name="Remove approver on Production EU").click()
    expect(page.get_by_role("status")).to_contain_text("remove pia's approver role")
    expect(roles).to_contain_text("No role.")

    open_people(page)
    row = page.get_by_role("row").filter(has_text="pia")
    expect(row).to_contain_text("active")


def test_a_second_admin_confirms_a_pending_grant(page):
    user("adam", "admin", password="password")
    user("bea", "admin", password="password")
    user("pia", password="password")
    log_in(page, "adam")
    open_people(page)
    page.get_by_role("link", name="pia").click()
    page.get_by_label("Role", exact=True).select_option(label="Editor")
    page.get_by_label("Where").select_option(label="Every target")
    page.get_by_role("button", name="Grant the role").click()
    expect(page.get_by_role("status")).to_contain_text("waits for a second administrator")
    expect(page.get_by_role("region", name="Roles")).to_contain_text("No role.")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "bea")
    open_people(page)
    waiting = page.get_by_role("region", name="Awaiting a second administrator")
    expect(waiting.get_by_role("row").filter(has_text="Make pia editor")).to_contain_text("adam")
    waiting.get_by_role("button", name="Confirm: make pia editor of every target").click()
    expect(page.get_by_role("status")).to_contain_text("Confirmed: make pia editor")
    expect(waiting).to_contain_text("Nothing waits.")
    expect(page.get_by_role("row").filter(has_text="pia")).to_contain_text("editor")


def test_an_admin_resets_a_password_and_the_person_signs_in_with_it(page):
    user("adam", "admin", password="password")
    user("pia", "editor", password="the old password 1")
    log_in(page, "adam")
    open_people(page)
    page.get_by_role("link", name="pia").click()
    page.get_by_label("New temporary password").fill(TEMPORARY)
    page.get_by_role("button", name="Reset the password").click()
    expect(page.get_by_role("status")).to_contain_text("Password reset")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "pia", TEMPORARY)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text("pia · editor")).to_be_visible()


def test_a_target_with_one_admin_says_four_eyes_cannot_be_guaranteed(page):
    target = make_target("prod-eu", display_name="Production EU")
    framework = live_framework(target)
    user("adam", "admin", password="password")
    log_in(page, "adam")
    page.goto(framework.get_absolute_url())
    expect(page.get_by_text("four eyes cannot be guaranteed here")).to_be_visible()
