"""``python -m backup_emulator`` as a real process: the listening line, the demo seed, --state
persistence across a restart and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from backup_emulator.testing import spawned_emulator

from .conftest import ACCOUNT_A, ACCOUNT_B, ENCRYPTED, REGION

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@contextmanager
def backup_client(url: str, account: str, region: str = REGION) -> Iterator[Any]:
    client = boto3.client(
        "backup",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=account,
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    try:
        yield client
    finally:
        client.close()


def names(client: Any) -> list[str]:
    return sorted(f["FrameworkName"] for f in client.list_frameworks()["Frameworks"])


def test_the_demo_seed_answers_for_both_accounts() -> None:
    with spawned_emulator(seed="demo") as emulator:
        assert emulator.state is None
        with (
            backup_client(emulator.url, ACCOUNT_A) as a,
            backup_client(emulator.url, ACCOUNT_B) as b,
        ):
            assert "exampleFramework" in names(a) and "exampleFramework" in names(b)
            assert "eu_west_1_222222222222_backup_framework" in names(b)
            listed = a.list_frameworks()["Frameworks"]
            assert {f["DeploymentStatus"] for f in listed} == {"COMPLETED"}
        with backup_client(emulator.url, ACCOUNT_A, "us-east-1") as east:
            assert names(east) == ["tf_acc_test_controls", "tf_acc_test_resource_id"]


def test_the_state_file_keeps_frameworks_across_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "emulator.json"
    with (
        spawned_emulator(state_file=state_file, deploy_seconds=0) as emulator,
        backup_client(emulator.url, ACCOUNT_A) as client,
    ):
        created = client.create_framework(FrameworkName="kept", FrameworkControls=ENCRYPTED)
    arn = created["FrameworkArn"]
    assert state_file.exists()
    assert list(state_file.parent.glob("*.tmp")) == []  # written atomically, nothing left over
    # --seed demo is ignored: the state is not empty.
    with (
        spawned_emulator(state_file=state_file, seed="demo") as emulator,
        backup_client(emulator.url, ACCOUNT_A) as client,
    ):
        assert names(client) == ["kept"]
        assert client.describe_framework(FrameworkName="kept")["FrameworkArn"] == arn


def test_the_command_line_prints_one_line_and_stops_cleanly_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    command = [sys.executable, "-m", "backup_emulator", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert re.fullmatch(r"backup emulator listening on http://127\.0\.0\.1:[1-9][0-9]*\n", line)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@contextmanager
def aws_client(service: str, url: str, credentials: Any, region: str = REGION) -> Iterator[Any]:
    """A client of ``service`` signed with an account id or an STS Credentials answer."""
    if isinstance(credentials, str):
        keys = {"aws_access_key_id": credentials, "aws_secret_access_key": "x"}
    else:
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    client = boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        config=Config(retries={"total_max_attempts": 1}),
        **keys,
    )
    try:
        yield client
    finally:
        client.close()


def test_the_demo_seed_has_roles_to_assume_and_partial_recording() -> None:
    with spawned_emulator(seed="demo") as emulator:
        with aws_client("sts", emulator.url, "999999999999") as sts:
            answer = sts.assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT_B}:role/BackupFrameworksConsole",
                RoleSessionName="demo",
                ExternalId="backup-frameworks-demo",
            )
            credentials = answer["Credentials"]
        with aws_client("config", emulator.url, credentials) as config:
            (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
        assert recorder["recordingGroup"]["exclusionByResourceTypes"]["resourceTypes"] == [
            "AWS::EC2::Volume",
            "AWS::RDS::DBInstance",
        ]
        with aws_client("backup", emulator.url, credentials) as b:
            statuses = {
                name: b.describe_framework(FrameworkName=name)["FrameworkStatus"]
                for name in names(b)
            }
        assert statuses["exampleFramework"] == "PARTIALLY_ACTIVE"  # it governs EBS, among others
        assert statuses["tf_acc_test_resource_id"] == "INACTIVE"  # it governs only EBS
        with aws_client("backup", emulator.url, ACCOUNT_A) as a:
            described = a.describe_framework(FrameworkName="exampleFramework")
            assert described["FrameworkStatus"] == "ACTIVE"  # 111111111111 records everything


def test_role_and_recording_flags_configure_a_started_emulator() -> None:
    with spawned_emulator(
        deploy_seconds=0,
        roles=[f"{ACCOUNT_A}:Auditor:the-external-id", f"{ACCOUNT_B}:Open"],
        recording=[f"{ACCOUNT_A}:{REGION}:none", f"{ACCOUNT_B}:{REGION}:only=AWS::EC2::Volume"],
    ) as emulator:
        roles = {r["arn"]: r["external_id"] for r in emulator.control.roles()}
        assert roles == {
            f"arn:aws:iam::{ACCOUNT_A}:role/Auditor": "the-external-id",
            f"arn:aws:iam::{ACCOUNT_B}:role/Open": None,
        }
        recording = {
            r["account"]: (r["mode"], r["resource_types"]) for r in emulator.control.recording()
        }
        assert recording == {ACCOUNT_A: ("none", []), ACCOUNT_B: ("include", ["AWS::EC2::Volume"])}
        with aws_client("backup", emulator.url, ACCOUNT_A) as a:
            a.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
            answer = a.describe_framework(FrameworkName="f")
        assert (answer["DeploymentStatus"], answer["FrameworkStatus"]) == ("FAILED", "INACTIVE")


def test_a_bad_role_or_recording_flag_stops_the_command_line() -> None:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    for flag in (["--role", "12:Name"], ["--recording", f"{ACCOUNT_A}:{REGION}:sometimes"]):
        command = [sys.executable, "-m", "backup_emulator", "--port", "0", *flag]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 2
        assert flag[0] in done.stderr
