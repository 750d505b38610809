"""The editor in Chromium, as a new user would try it: build a change with a new control, typed
parameters and a tag scope; meet and fix an out-of-range value the page points at; switch to
JSON and back; leave, come back, and find the draft as left. The ``page`` fixture fails the
test on any console error, so a CSP violation or an htmx error shows up here."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from frameworks.models import ChangeRequest
from tests.e2e.conftest import log_in, swapped
from tests.factories import make_live_framework, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_CONTROL = "Backup plan minimum frequency and minimum retention"


def checked(page, act) -> None:
    """Do `act` (which changes a field) and wait for the check it triggers: the next step
    then starts from the page as the server left it."""
    with page.expect_response(lambda response: response.url.endswith("/edit/check/")):
        act()


def leave(page, field, value: str) -> None:
    field.fill(value)
    checked(page, lambda: field.press("Tab"))


def test_an_editor_builds_a_change_fixes_it_and_finds_the_draft_again(page, editor):
    make_live_framework(make_target(), "daily_backups", controls=2)
    log_in(page, editor.username)

    page.get_by_role("link", name="daily_backups").click()
    page.get_by_role("button", name="Propose a change").click()
    expect(page.get_by_role("heading", name="Change to daily_backups")).to_be_visible()
    expect(page.locator("#preview")).to_contain_text("a draft that changes nothing")

    # A new control, picked by its console title: its typed fields appear in place.
    swapped(page, "/add-control/", page.get_by_role("button", name="Add a control").click)
    row = page.locator("#row-controls-2")
    expect(row).to_be_visible()
    swapped(
        page,
        "/edit/control/",
        lambda: row.get_by_label("Control", exact=True).select_option(label=NEW_CONTROL),
    )
    expect(row.get_by_label("Frequency unit")).to_be_visible()
    expect(row).to_contain_text("Backup plans back up at least this often")

    # Typed parameters; leaving a field checks it, and the page points at the value.
    checked(page, lambda: row.get_by_label("Frequency unit").select_option("hours"))
    frequency = row.get_by_label("Frequency requiredFrequencyValue")
    leave(page, frequency, "48")
    feedback = row.locator("#fb-controls-2-p_requiredFrequencyValue")
    expect(feedback).to_contain_text("must be at most 24 when the unit is hours; it is 48")
    expect(page.locator("#preview")).to_contain_text("Not ready to submit")

    # A tag scope: the tag fields appear once the kind is chosen.
    row.get_by_label("Resources with one tag").check()
    expect(row.get_by_label("Tag key")).to_be_visible()
    leave(page, row.get_by_label("Tag key"), "Environment")
    leave(page, row.get_by_label("Tag value"), "prod")
    frequency = row.get_by_label("Frequency requiredFrequencyValue")
    expect(frequency).to_have_value("48")  # redrawn, nothing typed lost

    # Fix the value the page pointed at.
    leave(page, frequency, "12")
    expect(row.locator("#fb-controls-2-p_requiredFrequencyValue")).to_be_empty()
    expect(page.locator("#preview")).to_contain_text(f"Add the control “{NEW_CONTROL}”")
    leave(page, page.get_by_label("Why this change"), "Plans must back up twice a day")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Draft saved.")
    expect(page.locator("#preview")).to_contain_text("Ready to submit")

    # JSON and back: the same content both ways.
    page.get_by_role("button", name="JSON", exact=True).click()
    text = page.get_by_label("The framework document")
    expect(text).to_contain_text('"requiredFrequencyValue"')
    written = json.loads(text.input_value())
    (added,) = [
        c
        for c in written["FrameworkControls"]
        if c["ControlName"] == "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
    ]
    assert added["ControlScope"] == {"Tags": {"Environment": "prod"}}
    page.get_by_role("button", name="Edit with the form").click()
    row = page.locator("#row-controls-2")
    expect(row.get_by_label("Frequency requiredFrequencyValue")).to_have_value("12")
    expect(row.get_by_label("Tag key")).to_have_value("Environment")

    # Leave, come back from the framework page: the same draft, as left.
    page.get_by_role("link", name="Frameworks", exact=True).first.click()
    page.get_by_role("link", name="daily_backups").click()
    page.get_by_role("button", name="Propose a change").click()
    expect(page.get_by_role("status").first).to_contain_text("You already have a draft")
    row = page.locator("#row-controls-2")
    expect(row.get_by_label("Control", exact=True)).to_have_value(
        "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
    )
    expect(row.get_by_label("Frequency unit")).to_have_value("hours")
    expect(row.get_by_label("Frequency requiredFrequencyValue")).to_have_value("12")
    expect(row.get_by_label("Tag value")).to_have_value("prod")
    expect(page.get_by_label("Why this change")).to_have_value("Plans must back up twice a day")
    assert ChangeRequest.objects.count() == 1


def test_rows_come_and_go_in_place(page, editor):
    make_live_framework(make_target(), "daily_backups", controls=3)
    log_in(page, editor.username)
    page.goto("/frameworks/prod-eu/daily_backups/")
    page.get_by_role("button", name="Propose a change").click()
    rows = page.locator("#control-rows > li")
    expect(rows).to_have_count(3)

    first = page.locator("#row-controls-0")
    swapped(
        page, "/add-parameter/", first.get_by_role("button", name="Add a parameter by name").click
    )
    leave(page, first.get_by_label("Name", exact=True), "madeUp")
    leave(page, first.get_by_label("Value", exact=True), "1")
    expect(first).to_contain_text("madeUp is not a parameter of")
    swapped(
        page, "/remove-parameter/", first.get_by_role("button", name="Remove this parameter").click
    )
    expect(first.get_by_label("Value", exact=True)).to_have_count(0)

    swapped(
        page,
        "/remove-control/",
        page.locator("#row-controls-1").get_by_role("button", name="Remove control").click,
    )
    expect(rows).to_have_count(2)
    swapped(
        page,
        "/move-control/",
        page.locator("#row-controls-2").get_by_role("button", name="Move this control up").click,
    )
    expect(page.locator("#control-rows > li").first.get_by_label("Tag value")).to_have_value("t2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Draft saved.")
    change = ChangeRequest.objects.get()
    tags = [c["ControlScope"]["Tags"]["team"] for c in change.working_document["FrameworkControls"]]
    assert tags == ["t2", "t0"]
