"""What a compliance person reads, in Chromium: an untouched draft opens without a false alarm,
the preview follows every action (with and without JavaScript), Enter saves, findings read as
sentences and mark their field, changes are found from the navigation, the history reads as
decisions with the worker's steps folded, the review shows only what changed, the frameworks
list is searched and filtered through its URL, and a phone gets a folded menu. The ``page``
fixture runs axe-core on every page and fails on any console error (a CSP violation)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from backup_emulator.seed import API_MEMBERS, demo_documents
from frameworks import apply, services
from frameworks.models import Target
from tests.applying import approved_update
from tests.e2e.conftest import axe_check, log_in, swapped
from tests.factories import draft, make_framework, make_live_framework, make_target, submitted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALERT = "The form cannot show this draft exactly as written"
PROFILES = {"111111111111": "acct1", "222222222222": "acct2"}


def checked(page, act) -> None:
    with page.expect_response(lambda response: response.url.endswith("/edit/check/")):
        act()


def test_every_seeded_framework_opens_as_an_untouched_draft_without_an_alert(
    page, editor, emulator
):
    import boto3

    targets = {}
    for doc in demo_documents():
        key = (doc["account"], doc["region"])
        if key not in targets:
            targets[key] = Target.objects.create(
                slug=f"a{doc['account'][:1]}-{doc['region']}",
                display_name=f"Account {doc['account']}",
                region=doc["region"],
                profile=PROFILES[doc["account"]],
                endpoint_url=emulator.url,
            )
        target = targets[key]
        client = boto3.Session(profile_name=target.profile, region_name=target.region).client(
            "backup", endpoint_url=target.endpoint_url
        )
        client.create_framework(**{k: doc[k] for k in API_MEMBERS if k in doc})
    for target in targets.values():
        services.target_sync(target_id=target.pk)
    log_in(page, editor.username)
    opened = 0
    for doc in demo_documents():
        target = targets[(doc["account"], doc["region"])]
        page.goto(reverse("frameworks:detail", args=[target.slug, doc["FrameworkName"]]))
        page.get_by_role("button", name="Propose a change").click()
        expect(
            page.get_by_role("heading", name=f"Change to {doc['FrameworkName']}")
        ).to_be_visible()
        expect(page.get_by_text(ALERT)).to_have_count(0)
        expect(page.locator("#preview")).to_contain_text("a draft that changes nothing")
        opened += 1
    assert opened == 10


def test_the_preview_and_readiness_follow_every_action(page, editor):
    make_live_framework(make_target(), "daily_backups", controls=2)
    log_in(page, editor.username)
    page.get_by_role("link", name="daily_backups").click()
    page.get_by_role("button", name="Propose a change").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("a draft that changes nothing")

    # Remove: the preview says so at once, and the draft is ready.
    swapped(
        page,
        "/edit/check/",
        lambda: (
            page.locator("#row-controls-1").get_by_role("button", name="Remove control").click()
        ),
    )
    expect(preview).to_contain_text("Remove the control")
    expect(preview).to_contain_text("Ready to submit")

    # Add an empty control: one error to fix (a control must be chosen).
    swapped(page, "/edit/check/", page.get_by_role("button", name="Add a control").click)
    expect(preview).to_contain_text("Not ready to submit: 1 error")

    # Pick it: the preview names it.
    row = page.locator("#row-controls-2")
    swapped(
        page,
        "/edit/check/",
        lambda: row.get_by_label("Control", exact=True).select_option(
            label="Recovery points are encrypted"
        ),
    )
    expect(preview).to_contain_text("Add the control “Recovery points are encrypted”")

    # Change a scope kind on the kept control: the preview says how.
    first = page.locator("#row-controls-0")
    swapped(
        page,
        "/edit/check/",
        lambda: first.get_by_label("All resources the control applies to").check(),
    )
    expect(preview).to_contain_text("Minimum retention established for recovery point")

    # Add and remove a parameter by name: each answer is followed by a fresh check.
    swapped(page, "/edit/check/", first.get_by_role("button", name="Add a parameter by name").click)
    swapped(
        page,
        "/edit/check/",
        lambda: first.get_by_role("button", name="Remove this parameter").click(),
    )
    axe_check(page)


def test_without_javascript_every_post_redraws_the_preview(browser, live_server, editor):
    make_live_framework(make_target(), "daily_backups", controls=2)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    log_in(page, editor.username)
    page.get_by_role("link", name="daily_backups").click()
    page.get_by_role("button", name="Propose a change").click()
    page.locator("#row-controls-1").get_by_role("button", name="Remove control").click()
    expect(page.locator("#preview")).to_contain_text("Remove the control")
    expect(page.locator("#preview")).to_contain_text("Ready to submit")
    page.get_by_role("button", name="Add a control").click()
    expect(page.locator("#preview")).to_contain_text("Not ready to submit: 1 error")
    context.close()


def test_enter_in_a_field_saves_the_draft_and_findings_read_as_sentences(page, editor):
    make_live_framework(make_target(), "daily_backups", controls=1)
    log_in(page, editor.username)
    page.get_by_role("link", name="daily_backups").click()
    page.get_by_role("button", name="Propose a change").click()
    row = page.locator("#row-controls-0")
    tag_key = row.get_by_label("Tag key")
    tag_key.fill("")
    checked(page, lambda: tag_key.press("Tab"))
    tag_key.focus()
    tag_key.press("Enter")
    # Saved, still the form (never the JSON mode).
    expect(page.get_by_role("status").first).to_contain_text("Draft saved.")
    expect(page.get_by_role("heading", name="Change to daily_backups")).to_be_visible()
    expect(page.get_by_role("textbox", name="Framework JSON")).to_have_count(0)
    # The field's finding: a sentence naming it, tied to the input, which is marked.
    tag_key = page.locator("#row-controls-0").get_by_label("Tag key")
    expect(tag_key).to_have_attribute("aria-invalid", "true")
    expect(tag_key).to_have_attribute("aria-describedby", "fb-controls-0-tag_key")
    expect(page.locator("#fb-controls-0-tag_key")).to_have_text("The tag key must not be empty.")
    border = tag_key.evaluate("e => getComputedStyle(e).borderTopColor")
    assert border == "rgb(180, 35, 24)"  # --bad
    # Submitting it is refused in words: the control by number and title, no API path.
    page.get_by_role("link", name=re.compile(r"#\d+")).first.click()
    page.get_by_label("Why make this change?").fill("Tidy the tags")
    page.get_by_role("button", name="Submit for review").click()
    message = page.get_by_role("status").first
    expect(message).to_contain_text(
        "the first: Control 1, Minimum retention established for recovery point: "
        "the tag key must not be empty."
    )
    expect(message).not_to_contain_text("controls[0]")


def test_an_author_finds_their_change_from_the_navigation(page, editor, other_editor):
    framework = make_live_framework(make_target(), "daily_backups")
    other = make_live_framework(framework.target, "weekly_checks")
    mine = submitted(editor, framework)
    theirs = draft(other_editor, other)
    log_in(page, editor.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Changes").click()
    expect(page.get_by_role("heading", name="Changes")).to_be_visible()
    expect(page.get_by_role("link", name=f"Change #{theirs.pk}")).to_be_visible()
    page.get_by_role("link", name="My changes").click()
    expect(page.get_by_role("link", name=f"Change #{theirs.pk}")).to_have_count(0)
    page.get_by_label("State").select_option(label="Submitted")
    page.get_by_role("button", name="Show").click()
    assert "state=submitted" in page.url and "mine=1" in page.url
    expect(page.get_by_role("status")).to_contain_text("1 change by you")
    page.get_by_role("link", name=f"Change #{mine.pk}").click()
    expect(page.get_by_role("heading", name=re.compile(f"Change #{mine.pk}"))).to_be_visible()
    # The framework page says a change to it is under review, and links it.
    page.goto(framework.get_absolute_url())
    expect(page.get_by_text("A change to this framework is submitted")).to_be_visible()
    page.get_by_role("link", name=f"change #{mine.pk}").first.click()
    expect(page).to_have_url(re.compile(f"/changes/{mine.pk}/$"))


def test_the_history_reads_as_decisions_with_the_workers_steps_folded(
    page, target, editor, approver, auditor, emulator
):
    change = approved_update(target, editor, approver, "daily", 7)
    apply.change_request_apply(change_id=change.pk, task_id="t")
    log_in(page, auditor.username)
    page.goto(reverse("frameworks:detail", args=[target.slug, "daily"]))
    history = page.locator("#history")
    expect(history).to_contain_text("Approved by alice")
    expect(history).to_contain_text("Applied by Apply worker")
    # The worker by what it is; its process and host in the tooltip.
    worker = history.locator("span[title]").filter(has_text="Apply worker").first
    expect(worker).to_have_attribute("title", re.compile(r".+"))
    attempt = history.locator("details").filter(has_text="Apply attempt 1 by the Apply worker")
    expect(attempt).to_have_count(1)
    expect(attempt.get_by_text("Sent UpdateFramework to AWS.")).to_be_hidden()
    attempt.locator("summary").click()
    expect(attempt.get_by_text("Sent UpdateFramework to AWS.")).to_be_visible()
    history.get_by_role("link", name=f"change #{change.pk}").first.click()
    expect(page.get_by_role("heading", name=re.compile(f"Change #{change.pk}"))).to_be_visible()
    # Once applied, every part of the change page says so.
    expect(page.locator("#change-state")).to_have_text("Applied")


def test_a_description_only_change_is_reviewed_without_noise(page, editor, approver):
    framework = make_live_framework(make_target(), "daily_backups", controls=10)
    doc = framework.api_document()
    doc["FrameworkDescription"] = "Reworded"
    change = services.change_request_create_draft(
        user=editor,
        target_id=framework.target_id,
        kind="update",
        framework_name=framework.name,
        document=doc,
    )
    services.change_request_submit(user=editor, change_id=change.pk, reason="Wording")
    log_in(page, editor.username)
    page.goto(reverse("frameworks:change-detail", args=[change.pk]))
    # The author is not asked for a decision.
    expect(page.get_by_role("heading", name="Your decision")).to_have_count(0)
    expect(page.get_by_role("heading", name="What you can do")).to_be_visible()
    proposal = page.get_by_role("region", name="Proposal")
    expect(proposal.locator("details.unchanged")).to_have_count(10)
    expect(proposal.get_by_text("Applies to:").first).to_be_hidden()
    page.get_by_role("button", name="Log out").click()
    log_in(page, approver.username)
    page.goto(reverse("frameworks:change-detail", args=[change.pk]))
    expect(page.get_by_role("heading", name="Your decision")).to_be_visible()
    page.get_by_label("Why reject it? (required)").fill("Keep the old words")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".decisions")).to_contain_text("alice rejected")
    expect(page.locator("body")).not_to_contain_text("rejectd")


def test_aws_defaults_are_explained(page, auditor):
    target = make_target()
    make_framework(
        target,
        "bare",
        controls=0,
    )
    from frameworks.models import Framework

    Framework.objects.filter(name="bare").update(
        controls=[{"ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"}]
    )
    log_in(page, auditor.username)
    page.goto(reverse("frameworks:detail", args=[target.slug, "bare"]))
    expect(page.locator(".defaults")).to_contain_text("Retention (days): AWS uses 35 days")


def test_the_frameworks_list_is_searched_and_filtered_through_its_url(page, auditor):
    prod = make_target("prod-eu", account_id="111111111111", region="eu-west-1")
    dev = make_target("dev-us", account_id="222222222222", region="us-east-1")
    make_framework(prod, "daily_backups")
    make_framework(dev, "weekly_checks", deployment_status="FAILED")
    log_in(page, auditor.username)
    page.get_by_label("Name or control").fill("weekly")
    page.get_by_role("button", name="Show").click()
    assert "q=weekly" in page.url
    expect(page.get_by_role("link", name="weekly_checks")).to_be_visible()
    expect(page.get_by_role("link", name="daily_backups")).to_have_count(0)
    page.goto(reverse("frameworks:list") + "?region=eu-west-1&sort=status")
    expect(page.get_by_label("Region")).to_have_value("eu-west-1")
    expect(page.get_by_role("link", name="daily_backups")).to_be_visible()
    expect(page.get_by_role("link", name="weekly_checks")).to_have_count(0)


def test_on_a_phone_the_top_bar_folds_into_a_menu(page, auditor):
    make_framework(make_target(), "daily_backups")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, auditor.username)
    changes = page.get_by_role("navigation", name="Main").get_by_role("link", name="Changes")
    expect(changes).to_be_hidden()
    page.get_by_text("Menu").click()
    expect(changes).to_be_visible()
    changes.click()
    expect(page.get_by_role("heading", name="Changes")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.get_by_role("link", name="Changes", exact=True)).to_be_visible()
    expect(page.get_by_text("Menu")).to_be_hidden()
    # Focus is visible: a 3 px ring in the accent colour.
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
