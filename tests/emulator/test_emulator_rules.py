"""The emulator's reading of the API limits and of the control catalogue, tested without HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backup_emulator import rules
from backup_emulator.seed import demo_documents
from backup_emulator.state import State

from .conftest import controls

ROLE = "arn:aws:iam::111111111111:role/BackupAdmin"


def reason_for(body: dict[str, Any]) -> str | None:
    """The code of the synchronous error for a CreateFramework body, or None when accepted."""
    try:
        rules.validate_framework_input(body, creating=True)
    except rules.ApiError as error:
        return error.code
    return None


def scoped(scope: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "ControlScope": scope}]


def valued(value: str | None) -> list[dict[str, Any]]:
    """One control whose one parameter has this value (None: no ParameterValue member)."""
    parameter = {"ParameterName": "principalArnList"}
    if value is not None:
        parameter["ParameterValue"] = value
    return [
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
            "ControlInputParameters": [parameter],
        }
    ]


DROP = object()  # a member left out of the body
ENCRYPTED_ONLY = controls("BACKUP_RECOVERY_POINT_ENCRYPTED")
MISSING, INVALID = "MissingParameterValueException", "InvalidParameterValueException"


@pytest.mark.parametrize(
    ("member", "value", "code"),
    [
        ("FrameworkName", DROP, MISSING),
        ("FrameworkName", "1abc", INVALID),
        ("FrameworkName", "a-b", INVALID),
        ("FrameworkName", "a" * 257, INVALID),
        ("FrameworkName", "a" * 256, None),
        ("FrameworkName", "a_B_9", None),
        ("FrameworkDescription", "x" * 1025, INVALID),
        ("FrameworkDescription", "", INVALID),
        ("FrameworkDescription", " \t", INVALID),
        ("FrameworkDescription", "x" * 1024, None),
        ("FrameworkControls", DROP, MISSING),
        ("FrameworkControls", [], MISSING),
        ("FrameworkControls", [{}], MISSING),
        ("FrameworkControls", controls("backup_recovery_point_encrypted"), INVALID),
        ("FrameworkControls", scoped({"Tags": {"a": "1", "b": "2"}}), INVALID),
        ("FrameworkControls", scoped({"Tags": {"a": ""}}), None),
        ("FrameworkControls", scoped({"ComplianceResourceIds": []}), INVALID),
        ("FrameworkControls", scoped({"ComplianceResourceIds": ["i"] * 101}), INVALID),
        ("FrameworkControls", scoped({"ComplianceResourceIds": ["i"] * 100}), None),
        ("FrameworkControls", "x", "SerializationException"),
        ("FrameworkControls", valued(None), INVALID),
        ("FrameworkControls", valued(""), INVALID),
        ("FrameworkControls", valued(" "), None),  # passes here, fails the deployment
        ("FrameworkControls", valued("arn:aws:iam::111111111111:role/BackupAdmin"), None),
    ],
)
def test_input_limits_are_checked_synchronously(member: str, value: Any, code: str | None) -> None:
    body: dict[str, Any] = {"FrameworkName": "ok", "FrameworkControls": ENCRYPTED_ONLY}
    body[member] = value
    if value is DROP:
        del body[member]
    assert reason_for(body) == code


PLAN = "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
DELETION = "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"
ACCOUNTS = "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT"
REGIONS = "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION"
LOCK = "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK"
LAST = "BACKUP_LAST_RECOVERY_POINT_CREATED"
AIR_GAPPED = "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"
PROTECTED = "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"
RESTORE = "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"


def age(unit: str, value: str, prefix: str = "recoveryPointAge") -> dict[str, str]:
    return {f"{prefix}Unit": unit, f"{prefix}Value": value}


@pytest.mark.parametrize(
    ("control", "params", "ok"),
    [
        (PROTECTED, {}, True),
        (PROTECTED, {"requiredRetentionDays": "35"}, False),
        (PLAN, {"requiredFrequencyValue": "31"}, True),
        (PLAN, {"requiredFrequencyValue": "0"}, False),
        (PLAN, age("hours", "24", "requiredFrequency"), True),
        (PLAN, age("hours", "25", "requiredFrequency"), False),
        (PLAN, {"requiredRetentionDays": "1.5"}, False),
        (DELETION, {"principalArnList": f"{ROLE},{ROLE}"}, True),
        (DELETION, {"principalArnList": ""}, False),
        (DELETION, {"principalArnList": ",".join([ROLE] * 6)}, False),
        (DELETION, {"principalArnList": "root"}, False),
        ("BACKUP_RECOVERY_POINT_ENCRYPTED", {"resourceType": "ALL"}, False),
        ("BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK", {"requiredRetentionDays": "-1"}, False),
        (REGIONS, {"crossRegionList": "eu-west-2,us-east-1"}, True),
        (REGIONS, {"crossRegionList": "Ireland"}, False),
        (ACCOUNTS, {"crossAccountList": "111122223333"}, True),
        (ACCOUNTS, {"crossAccountList": "1111"}, False),
        (ACCOUNTS, {"crossAccountList": ",".join(["111122223333"] * 6)}, False),
        (LOCK, {"minRetentionDays": "1", "maxRetentionDays": "100"}, True),
        (LOCK, {"minRetentionDays": "10", "maxRetentionDays": "5"}, False),
        (LAST, age("hours", "744"), True),
        (LAST, age("hours", "745"), False),
        (LAST, {"recoveryPointAgeValue": "32"}, False),
        (RESTORE, {"maxRestoreTime": "720"}, True),
        (RESTORE, {"maxRestoreTime": "0"}, False),
        (AIR_GAPPED, age("hours", "23"), False),
        (AIR_GAPPED, age("hours", "2184"), True),
        (AIR_GAPPED, age("days", "91"), True),
        (AIR_GAPPED, age("days", "92"), False),
    ],
)
def test_the_catalogue_decides_whether_a_deployment_fails(
    control: str, params: dict[str, str], ok: bool
) -> None:
    assert (rules.deployment_problems(controls(control, **params)) == []) is ok


def test_a_parameter_given_twice_fails_the_deployment() -> None:
    twice = controls(RESTORE, maxRestoreTime="1")
    twice[0]["ControlInputParameters"] *= 2
    assert rules.deployment_problems(twice)


@pytest.mark.parametrize(
    ("control", "scope", "ok"),
    [
        ("BACKUP_RECOVERY_POINT_ENCRYPTED", {}, True),
        ("BACKUP_RECOVERY_POINT_ENCRYPTED", {"Tags": {"k": "v"}}, True),
        ("BACKUP_RECOVERY_POINT_ENCRYPTED", {"ComplianceResourceTypes": ["EBS"]}, False),
        (AIR_GAPPED, {"Tags": {"k": "v"}}, False),
        (PROTECTED, {"ComplianceResourceTypes": ["S3"], "Tags": {"k": "v"}}, True),
        (PROTECTED, {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ["v"]}, True),
        (PROTECTED, {"ComplianceResourceIds": ["vol-1"]}, False),
        (PLAN, {"ComplianceResourceTypes": ["EBS"]}, False),
    ],
)
def test_scope_kinds_the_control_does_not_support_fail_the_deployment(
    control: str, scope: dict[str, Any], ok: bool
) -> None:
    framework_controls = [{"ControlName": control, "ControlScope": scope}]
    assert (rules.deployment_problems(framework_controls) == []) is ok


def test_the_catalogue_has_the_eleven_controls() -> None:
    assert len(rules.CATALOGUE) == 11


def test_the_seed_holds_only_documents_the_reference_calls_valid() -> None:
    documents = demo_documents()
    state = State(deploy_seconds=0)
    for document in documents:
        body = {k: v for k, v in document.items() if k.startswith("Framework")}
        rules.validate_framework_input(body, creating=True)
        assert rules.deployment_problems(body["FrameworkControls"]) == []
        state.add_completed(document["account"], document["region"], body, 0.0)
    accounts = {(d["account"], d["region"]) for d in documents}
    assert accounts == {
        ("111111111111", "eu-west-1"),
        ("222222222222", "eu-west-1"),
        ("111111111111", "us-east-1"),
    }
    names = [d["FrameworkName"] for d in documents]
    assert "enterprise-audit-framework" not in names and "Control10" not in names


def test_the_seed_file_is_inside_the_package() -> None:
    import backup_emulator

    seed = Path(backup_emulator.__file__).with_name("seed_demo.json")
    assert json.loads(seed.read_text())["frameworks"]
