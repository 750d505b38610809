"""Framework tags and AWS Config recording in Chromium, as a compliance person meets them: the
framework page lists the tags and says in words what AWS Config does not record; the editor
changes a tag next to the document and the preview says so; the approver reads the tag change
on the change page. The ``page`` fixture runs axe-core on every page and fails on console
errors."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from frameworks import document, services
from frameworks.models import ChangeRequest, Target
from tests.e2e.conftest import log_in
from tests.factories import make_live_framework, make_target, with_hash

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EBS_CONTROL = {
    "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    "ControlScope": {"ComplianceResourceTypes": ["EBS", "RDS"]},
}


def checked(page, act) -> None:
    with page.expect_response(lambda response: response.url.endswith("/edit/check/")):
        act()


def test_an_editor_tags_a_framework_in_a_reviewed_change(page, editor, approver):
    target = make_target()
    no_ebs_rds = document.Recording(
        all_types=True, excluded=frozenset({"AWS::EC2::Volume", "AWS::RDS::DBInstance"})
    )
    Target.objects.filter(pk=target.pk).update(config_recording=no_ebs_rds.as_json())
    make_live_framework(
        target,
        "tagged_backups",
        controls=1,
        tags={"Owner": "backup-team"},
        framework_status="PARTIALLY_ACTIVE",
    )
    live = target.frameworks.get()
    live.controls = [*live.controls, EBS_CONTROL]
    live.save()
    with_hash(live)  # the mirror as sync leaves it
    log_in(page, editor.username)

    page.get_by_role("link", name="tagged_backups").click()
    tags = page.get_by_role("region", name="Tags")
    expect(tags.get_by_role("cell", name="backup-team")).to_be_visible()
    expect(page.locator("#recording-words")).to_have_text(
        "AWS Config is not recording EBS and RDS in eu-west-1: these controls cannot evaluate "
        "them: “Backup resources are protected by a backup plan”."
    )

    page.get_by_role("button", name="Propose a change").click()
    expect(page.get_by_role("heading", name="Change to tagged_backups")).to_be_visible()
    value = page.get_by_label("Tag 1 value")
    expect(value).to_have_value("backup-team")
    value.fill("compliance")
    checked(page, lambda: value.press("Tab"))
    page.get_by_label("Tag 2 key").fill("DataClass")
    page.get_by_label("Tag 2 value").fill("PII")
    checked(page, lambda: page.get_by_label("Tag 2 value").press("Tab"))
    preview = page.locator("#preview")
    expect(preview).to_contain_text(
        "Change the framework tag Owner from “backup-team” to “compliance”."
    )
    expect(preview).to_contain_text("Add the framework tag DataClass = “PII”.")
    # A key AWS keeps for itself is pointed at next to the tags.
    page.get_by_label("Tag 2 key").fill("aws:class")
    checked(page, lambda: page.get_by_label("Tag 2 key").press("Tab"))
    expect(page.locator("#fb-tags")).to_contain_text("starts with aws:")
    page.get_by_label("Tag 2 key").fill("DataClass")
    checked(page, lambda: page.get_by_label("Tag 2 key").press("Tab"))
    expect(page.locator("#fb-tags")).to_be_empty()
    reason = page.get_by_label("Why this change")
    reason.fill("The auditor asks who owns it")
    checked(page, lambda: reason.press("Tab"))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Draft saved.")

    # The approver reads the tag change on the change page, and the warning on the control.
    change = ChangeRequest.objects.get(framework_name="tagged_backups")
    services.change_request_submit(user=editor, change_id=change.pk, reason="owners")
    page.context.clear_cookies()
    log_in(page, approver.username)
    page.goto(reverse("frameworks:change-detail", args=[change.pk]))
    changes = page.get_by_role("region", name="What changes")
    expect(changes).to_contain_text(
        "Change the framework tag Owner from “backup-team” to “compliance”."
    )
    expect(changes).to_contain_text("Add the framework tag DataClass = “PII”.")
    expect(changes).to_contain_text("AWS Config is not recording EBS and RDS in eu-west-1, so")
