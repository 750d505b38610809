from __future__ import annotations

import boto3
import pytest
from playwright.sync_api import expect

from frameworks.models import Target
from tests.conftest import ACCOUNT_2
from tests.e2e.conftest import log_in
from tests.factories import grant, user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLE = "BackupFrameworksConsole"


def test_an_admin_adds_a_target_by_role_and_an_editor_granted_it_sees_its_frameworks(
    page, admin_user, emulator
):
    emulator.control.put_role(ACCOUNT_2, ROLE, external_id="acme-console-7")
    # A framework already in the second account, made with that account's own keys.
    boto3.Session(profile_name="acct2", region_name="eu-west-1").client(
        "backup", endpoint_url=emulator.url
    ).create_framework(
        FrameworkName="weekly_vault_checks",
        FrameworkControls=[{"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}],
    )

    log_in(page, admin_user.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Targets").click()
    expect(page.get_by_role("heading", name="Targets")).to_be_visible()
    page.get_by_role("link", name="Add a target").click()
    page.get_by_label("Slug").fill("payments-eu")
    page.get_by_label("Name", exact=True).fill("Payments EU")
    page.get_by_label("Region", exact=True).fill("eu-west-1")
    page.get_by_label("Credentials: named profile").fill("acct1")
    page.get_by_label("Role to assume").fill(f"arn:aws:iam::{ACCOUNT_2}:role/{ROLE}")
    page.get_by_label("External id").fill("acme-console-7")
    page.get_by_label("Endpoint URL").fill(emulator.url)
    page.get_by_role("button", name="Add the target").click()

    expect(page.get_by_role("heading", name="Payments EU")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Test its connection next")
    page.get_by_role("button", name="Test the connection").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Connected to account {ACCOUNT_2} as arn:aws:sts::{ACCOUNT_2}:assumed-role/{ROLE}/"
        "backup-frameworks-console; 1 framework in eu-west-1."
    )
    settings = page.get_by_role("region", name="Settings")
    expect(settings).to_contain_text(f"{ACCOUNT_2} (checked")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("row").filter(has_text="Target connection tested")).to_contain_text(
        admin_user.username
    )
    expect(history.get_by_role("row").filter(has_text="Target added")).to_be_visible()

    # The administrator grants an editor a role on this target only.
    pia = user("pia", password="password")
    grant(pia, "editor", Target.objects.get(slug="payments-eu"))
    page.get_by_role("button", name="Log out").click()

    log_in(page, "pia")
    section = page.get_by_role("region", name="Payments EU")
    expect(section).to_contain_text(f"account {ACCOUNT_2}")
    section.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status")).to_contain_text("1 new")
    expect(page.get_by_role("row").filter(has_text="weekly_vault_checks")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Targets")
    ).to_have_count(0)
