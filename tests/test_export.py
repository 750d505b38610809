from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from frameworks import services
from tests.conftest import unavailable

pytestmark = pytest.mark.django_db

CONTROLS = [
    {
        "ControlName": "BACKUP_LAST_RECOVERY_POINT_CREATED",
        "ControlInputParameters": [
            {"ParameterName": "recoveryPointAgeUnit", "ParameterValue": "hours"},
            {"ParameterName": "recoveryPointAgeValue", "ParameterValue": "36"},
        ],
        "ControlScope": {"ComplianceResourceTypes": ["EBS", "RDS"]},
    }
]


def aws_cli() -> str:
    beside_python = Path(sys.executable).with_name("aws")
    found = str(beside_python) if beside_python.exists() else shutil.which("aws")
    if not found:
        unavailable("needs the AWS CLI: pip install awscli")
    return found


def test_unknown_frameworks_are_named(target):
    with pytest.raises(CommandError, match="No framework 'nope' in target 'prod-eu'"):
        call_command("export_framework", "prod-eu", "nope")


@pytest.mark.cli
@pytest.mark.parametrize("description", [None, "Recent recovery points"])
def test_the_export_is_accepted_by_aws_backup_update_framework(
    target, emulator, tmp_path, capsys, description
):
    client = boto3.Session(profile_name="acct1", region_name="eu-west-1").client(
        "backup", endpoint_url=emulator.url
    )
    extra = {"FrameworkDescription": description} if description else {}
    client.create_framework(FrameworkName="recent", FrameworkControls=CONTROLS, **extra)
    services.target_sync(target_id=target.pk)

    call_command("export_framework", "prod-eu", "recent")
    exported = json.loads(capsys.readouterr().out)
    assert exported["FrameworkName"] == "recent"
    assert exported["FrameworkControls"] == CONTROLS
    path = tmp_path / "framework.json"
    path.write_text(json.dumps(exported))

    emulator.control.clear_calls()
    done = subprocess.run(
        [
            aws_cli(),
            "--profile",
            "acct1",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            emulator.url,
            "backup",
            "update-framework",
            "--cli-input-json",
            f"file://{path}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [call] = emulator.control.calls()
    assert call["operation"] == "UpdateFramework"
    assert call["status"] == 200
