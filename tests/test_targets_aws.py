"""Targets reached through an IAM role: STS AssumeRole against the emulator's STS, over the real
wire protocol. Temporary keys are refreshed before they expire, a wrong external id is refused
and said in words, and two accounts stay apart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import botocore.credentials
import pytest

from frameworks import aws
from frameworks.models import Target
from tests.conftest import ACCOUNT_1, ACCOUNT_2

ROLE = "BackupFrameworksConsole"
EXTERNAL_ID = "console-external-id"
ACCOUNT_3 = "333333333333"


def role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


def by_role(emulator: Any, account: str, external_id: str = EXTERNAL_ID, slug: str = "t") -> Target:
    """A target in `account`, reached by assuming its role with the acct1 profile's keys."""
    return Target(
        slug=slug,
        region="eu-west-1",
        profile="acct1",
        role_arn=role_arn(account),
        external_id=external_id,
        endpoint_url=emulator.url,
    )


@pytest.fixture
def roles(emulator: Any) -> None:
    for account in (ACCOUNT_2, ACCOUNT_3):
        emulator.control.put_role(account, ROLE, external_id=EXTERNAL_ID)


def _framework(name: str) -> dict[str, Any]:
    return {
        "FrameworkName": name,
        "FrameworkControls": [{"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}],
    }


def test_the_console_acts_in_the_roles_account(emulator: Any, roles: None) -> None:
    identity = aws.caller_identity(by_role(emulator, ACCOUNT_2))
    assert identity.account_id == ACCOUNT_2
    assert identity.arn == (
        f"arn:aws:sts::{ACCOUNT_2}:assumed-role/{ROLE}/backup-frameworks-console"
    )
    [session] = emulator.control.sessions()
    assert session["account"] == ACCOUNT_2


def test_two_accounts_reached_through_roles_stay_apart(emulator: Any, roles: None) -> None:
    two, three = by_role(emulator, ACCOUNT_2, slug="two"), by_role(emulator, ACCOUNT_3, slug="3")
    aws.create_framework(two, _framework("OnlyInTwo"), token="t-1")
    assert [f["FrameworkName"] for f in aws.list_frameworks(two, max_attempts=1)] == ["OnlyInTwo"]
    assert aws.list_frameworks(three, max_attempts=1) == []
    assert aws.caller_identity(three).account_id == ACCOUNT_3
    # And the profile's own account saw none of it.
    own = Target(slug="own", region="eu-west-1", profile="acct1", endpoint_url=emulator.url)
    assert aws.caller_identity(own).account_id == ACCOUNT_1
    assert aws.list_frameworks(own, max_attempts=1) == []


def test_one_assume_role_serves_every_client_and_call(emulator: Any, roles: None) -> None:
    target = by_role(emulator, ACCOUNT_2)
    for _ in range(3):
        aws.list_frameworks(target, max_attempts=1)
        aws.caller_identity(target)
    assert len(emulator.control.sessions()) == 1


@pytest.mark.parametrize("external_id", ["wrong-external-id", ""])
def test_a_wrong_or_missing_external_id_is_refused_in_words(
    emulator: Any, roles: None, external_id: str
) -> None:
    with pytest.raises(aws.AwsError) as raised:
        aws.list_frameworks(by_role(emulator, ACCOUNT_2, external_id), max_attempts=1)
    error = raised.value
    assert (error.code, error.operation, error.transient) == ("AccessDenied", "AssumeRole", False)
    assert "not authorized to perform: sts:AssumeRole" in error.message
    assert error.words.startswith("AWS refused to let the console assume the role")
    assert emulator.control.sessions() == []


def _pass_time(
    monkeypatch: pytest.MonkeyPatch, target: Target, emulator: Any, seconds: int
) -> None:
    """Move both clocks forward: the emulator's, and the one botocore's credentials read."""
    credentials = aws.client_for(target, max_attempts=1)._request_signer._credentials
    later = botocore.credentials._local_now() + timedelta(seconds=seconds)
    monkeypatch.setattr(credentials, "_time_fetcher", lambda: later)
    emulator.control.advance_clock(seconds)


def test_temporary_keys_are_refreshed_before_they_expire(
    emulator: Any, roles: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = by_role(emulator, ACCOUNT_2)
    aws.list_frameworks(target, max_attempts=1)
    [first] = emulator.control.sessions()

    # 55 minutes pass, on both clocks: the one-hour keys have five minutes left, inside
    # botocore's mandatory refresh window, and the emulator would still accept them.
    _pass_time(monkeypatch, target, emulator, 55 * 60)

    aws.list_frameworks(target, max_attempts=1)
    sessions = emulator.control.sessions()
    # A second AssumeRole while the first keys were still good.
    assert len(sessions) == 2
    assert sessions[0]["access_key"] == first["access_key"] != sessions[1]["access_key"]
    assert [s["expired"] for s in sessions] == [False, False]
    assert sessions[1]["expiration"] > sessions[0]["expiration"]


def test_expired_keys_are_replaced_not_reused(
    emulator: Any, roles: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = by_role(emulator, ACCOUNT_2)
    aws.caller_identity(target)
    _pass_time(monkeypatch, target, emulator, 2 * 3600)
    assert aws.caller_identity(target).account_id == ACCOUNT_2
    sessions = emulator.control.sessions()
    assert [s["expired"] for s in sessions] == [True, False]


def test_the_session_name_names_the_console(emulator: Any, roles: None, settings: Any) -> None:
    settings.AWS_ROLE_SESSION_NAME = "acme-backup-console"
    identity = aws.caller_identity(by_role(emulator, ACCOUNT_2))
    assert identity.arn.endswith("/acme-backup-console")
