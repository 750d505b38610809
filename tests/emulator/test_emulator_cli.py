"""The AWS CLI (awscli from PyPI), unmodified, once per operation against the emulator.

The CLI is a second real client with its own argument parsing and output, so this shows the
emulator is not only compatible with the way our own code calls boto3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ACCOUNT_A, ENCRYPTED, REGION, RETENTION_35

pytestmark = pytest.mark.cli


def aws_executable() -> str:
    beside_python = Path(sys.executable).with_name("aws")
    found = str(beside_python) if beside_python.exists() else shutil.which("aws")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("AWS CLI not installed, and CI=true: pip install awscli")
    pytest.skip("AWS CLI not installed: pip install awscli")


@pytest.fixture
def aws(emulator: Any, tmp_path: Path) -> Any:
    """Run ``aws backup <args>`` against the emulator as account 111111111111 in eu-west-1."""
    executable = aws_executable()
    (tmp_path / "config").write_text("")
    (tmp_path / "credentials").write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": ACCOUNT_A,
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }

    def run(*args: str, check: bool = True) -> Any:
        command = [executable, "backup", *args, "--endpoint-url", emulator.url, "--output", "json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        if not check:
            return done
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run


def create(emulator: Any, name: str, controls: list[dict[str, Any]] = ENCRYPTED) -> None:
    body = {"FrameworkName": name, "FrameworkControls": controls}
    emulator.state.execute("CreateFramework", ACCOUNT_A, REGION, body)


def test_cli_create_framework(aws: Any, emulator: Any) -> None:
    answer = aws(
        "create-framework",
        "--framework-name",
        "cli",
        "--framework-controls",
        json.dumps(RETENTION_35),
    )
    assert answer["FrameworkArn"].startswith(f"arn:aws:backup:{REGION}:{ACCOUNT_A}:framework:cli-")
    call = emulator.control.calls()[-1]
    assert (call["operation"], call["account"], call["region"]) == (
        "CreateFramework",
        ACCOUNT_A,
        REGION,
    )


def test_cli_update_framework(aws: Any, emulator: Any) -> None:
    create(emulator, "cli")
    answer = aws(
        "update-framework",
        "--framework-name",
        "cli",
        "--framework-controls",
        json.dumps(RETENTION_35),
        "--idempotency-token",
        "cli-token",
    )
    assert set(answer) == {"FrameworkName", "FrameworkArn", "CreationTime"}
    assert emulator.control.calls()[-1]["idempotency_token"] == "cli-token"


def test_cli_describe_framework(aws: Any, emulator: Any) -> None:
    create(emulator, "cli")
    answer = aws("describe-framework", "--framework-name", "cli")
    assert answer["DeploymentStatus"] == "COMPLETED"
    assert answer["FrameworkControls"][0]["ControlName"] == "BACKUP_RECOVERY_POINT_ENCRYPTED"


def test_cli_list_frameworks(aws: Any, emulator: Any) -> None:
    create(emulator, "cli")
    answer = aws("list-frameworks", "--max-results", "10")
    assert [f["FrameworkName"] for f in answer["Frameworks"]] == ["cli"]


def test_cli_delete_framework(aws: Any, emulator: Any) -> None:
    create(emulator, "cli")
    assert aws("delete-framework", "--framework-name", "cli") is None
    assert emulator.state.dump()["frameworks"] == []


def test_cli_shows_the_error_code_and_message(aws: Any) -> None:
    done = aws("describe-framework", "--framework-name", "missing", check=False)
    assert done.returncode != 0
    assert "ResourceNotFoundException" in done.stderr
    assert "Framework missing does not exist." in done.stderr


def create_tagged(emulator: Any, name: str, **tags: str) -> str:
    body = {"FrameworkName": name, "FrameworkControls": ENCRYPTED, "FrameworkTags": tags}
    answer, _ = emulator.state.execute("CreateFramework", ACCOUNT_A, REGION, body)
    return answer["FrameworkArn"]


def test_cli_list_tags(aws: Any, emulator: Any) -> None:
    arn = create_tagged(emulator, "cli", env="prod")
    assert aws("list-tags", "--resource-arn", arn)["Tags"] == {"env": "prod"}


def test_cli_tag_resource(aws: Any, emulator: Any) -> None:
    arn = create_tagged(emulator, "cli")
    assert aws("tag-resource", "--resource-arn", arn, "--tags", "team=backup,env=prod") is None
    assert emulator.state.execute("ListTags", ACCOUNT_A, REGION, {"ResourceArn": arn})[0] == {
        "Tags": {"env": "prod", "team": "backup"}
    }


def test_cli_untag_resource(aws: Any, emulator: Any) -> None:
    arn = create_tagged(emulator, "cli", env="prod", team="backup")
    assert aws("untag-resource", "--resource-arn", arn, "--tag-key-list", "env") is None
    call = emulator.control.calls()[-1]
    assert (call["operation"], call["framework_name"], call["effective"]) == (
        "UntagResource",
        "cli",
        True,
    )
