from __future__ import annotations

import boto3
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_logs_in_syncs_and_reads_a_framework(page, target, editor, emulator):
    client = boto3.Session(profile_name="acct1", region_name="eu-west-1").client(
        "backup", endpoint_url=emulator.url
    )
    client.create_framework(
        FrameworkName="daily_backups",
        FrameworkDescription="Backups every day, kept five weeks",
        FrameworkControls=[
            {
                "ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
                "ControlInputParameters": [
                    {"ParameterName": "requiredFrequencyUnit", "ParameterValue": "hours"},
                    {"ParameterName": "requiredFrequencyValue", "ParameterValue": "12"},
                ],
                "ControlScope": {"Tags": {"Environment": "prod"}},
            }
        ],
    )

    log_in(page, editor.username)
    expect(page.get_by_role("heading", name="Frameworks", exact=True)).to_be_visible()
    section = page.get_by_role("region", name="Production EU")
    expect(section).to_contain_text("never synced")

    section.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status")).to_contain_text("1 new")
    row = page.get_by_role("row").filter(has_text="daily_backups")
    expect(row).to_contain_text("Deployed")

    row.get_by_role("link", name="daily_backups").click()
    expect(page.get_by_role("heading", name="daily_backups")).to_be_visible()
    expect(page.get_by_text("Backups every day, kept five weeks")).to_be_visible()
    control = page.get_by_role("listitem").filter(has_text="Backup plan minimum frequency")
    expect(control).to_contain_text("every 12 hours")
    expect(control).to_contain_text("Environment")
