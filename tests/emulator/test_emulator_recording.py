"""AWS Config recording in the emulator: what DescribeConfigurationRecorders(Status) answer over
the real JSON 1.1 protocol, and how recording decides a framework's FrameworkStatus and whether its
deployment fails (the rule is in ``backup_emulator/recording.py``)."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from backup_emulator import rules
from backup_emulator.control import EmulatorControlError
from backup_emulator.testing import running_emulator

from .conftest import ACCOUNT_A, ACCOUNT_B, ENCRYPTED, REGION, controls
from .test_emulator_wire import assert_matches_shape

CONFIG = botocore.session.get_session().get_service_model("config")
VOLUME, DB_INSTANCE = "AWS::EC2::Volume", "AWS::RDS::DBInstance"


def protected(*types: str) -> list[dict[str, Any]]:
    control: dict[str, Any] = {"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"}
    if types:
        control["ControlScope"] = {"ComplianceResourceTypes": list(types)}
    return [control]


PLAN_CHECK = controls("BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK")


def statuses(client: Any, name: str) -> tuple[str, str]:
    answer = client.describe_framework(FrameworkName=name)
    return answer["DeploymentStatus"], answer["FrameworkStatus"]


class Wire:
    def __init__(self, client: Any) -> None:
        self.request: Any = None
        self.response: Any = None
        client.meta.events.register("before-send.config-service.*", self._before_send)
        client.meta.events.register("after-call.config-service.*", self._after_call)

    def _before_send(self, request: Any, **kwargs: Any) -> None:
        self.request = request

    def _after_call(self, http_response: Any, **kwargs: Any) -> None:
        self.response = http_response


@pytest.fixture
def config(make_aws_client: Any) -> Any:
    return make_aws_client("config")


# --- the AWS Config answers --------------------------------------------------------------------


def test_by_default_one_recorder_records_all_supported_types(config: Any) -> None:
    wire = Wire(config)
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert (
        wire.request.headers["X-Amz-Target"]
        == b"StarlingDoveService.DescribeConfigurationRecorders"
    )
    assert wire.response.headers["Content-Type"] == "application/x-amz-json-1.1"
    output = CONFIG.operation_model("DescribeConfigurationRecorders").output_shape
    assert_matches_shape(json.loads(wire.response.content), output)
    (recorder,) = recorders
    assert recorder["name"] == "default"
    assert recorder["recordingGroup"]["allSupported"] is True
    assert recorder["recordingGroup"]["recordingStrategy"] == {
        "useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"
    }
    assert recorder["roleARN"].startswith(f"arn:aws:iam::{ACCOUNT_A}:role/")


def test_the_recorder_status_says_it_is_recording(config: Any) -> None:
    wire = Wire(config)
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    output = CONFIG.operation_model("DescribeConfigurationRecorderStatus").output_shape
    assert_matches_shape(json.loads(wire.response.content), output)
    assert (status["name"], status["recording"], status["lastStatus"]) == (
        "default",
        True,
        "SUCCESS",
    )
    assert "lastStopTime" not in status


@pytest.mark.parametrize(
    ("setting", "group"),
    [
        (
            {"mode": "include", "resource_types": [DB_INSTANCE, VOLUME]},
            {
                "allSupported": False,
                "includeGlobalResourceTypes": False,
                "resourceTypes": [VOLUME, DB_INSTANCE],
                "exclusionByResourceTypes": {"resourceTypes": []},
                "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
            },
        ),
        (
            {"mode": "exclude", "resource_types": [VOLUME]},
            {
                "allSupported": False,
                "includeGlobalResourceTypes": False,
                "resourceTypes": [],
                "exclusionByResourceTypes": {"resourceTypes": [VOLUME]},
                "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
            },
        ),
    ],
)
def test_the_recording_group_reflects_the_configured_types(
    emulator: Any, config: Any, setting: dict[str, Any], group: dict[str, Any]
) -> None:
    emulator.control.set_recording(ACCOUNT_A, REGION, **setting)
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"] == group


def test_no_recorder_lists_nothing_and_a_named_one_is_not_found(emulator: Any, config: Any) -> None:
    emulator.control.set_recording(ACCOUNT_A, REGION, mode="none")
    assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []
    assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"] == []
    wire = Wire(config)
    with pytest.raises(config.exceptions.NoSuchConfigurationRecorderException) as raised:
        config.describe_configuration_recorders(ConfigurationRecorderNames=["default"])
    assert raised.value.response["Error"]["Message"] == (
        "Cannot find configuration recorder with the specified name 'default'."
    )
    assert wire.response.status_code == 400
    assert json.loads(wire.response.content)["__type"] == "NoSuchConfigurationRecorderException"


def test_a_recorder_is_found_by_its_name_only(config: Any) -> None:
    named = config.describe_configuration_recorders(ConfigurationRecorderNames=["default"])
    assert len(named["ConfigurationRecorders"]) == 1
    with pytest.raises(config.exceptions.NoSuchConfigurationRecorderException):
        config.describe_configuration_recorder_status(ConfigurationRecorderNames=["other"])


def test_a_stopped_recorder_says_so(emulator: Any, config: Any) -> None:
    emulator.control.set_recording(ACCOUNT_A, REGION, recording=False)
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is False
    assert "lastStopTime" in status


def test_recording_is_per_account_and_region(emulator: Any, make_aws_client: Any) -> None:
    emulator.control.set_recording(ACCOUNT_B, REGION, mode="none")
    assert make_aws_client("config", ACCOUNT_A).describe_configuration_recorders()[
        "ConfigurationRecorders"
    ]
    assert not make_aws_client("config", ACCOUNT_B).describe_configuration_recorders()[
        "ConfigurationRecorders"
    ]
    assert make_aws_client("config", ACCOUNT_B, "us-east-1").describe_configuration_recorders()[
        "ConfigurationRecorders"
    ]


# --- FrameworkStatus and failed deployments ----------------------------------------------------


def test_a_framework_is_active_when_everything_is_recorded(client: Any) -> None:
    client.create_framework(FrameworkName="f", FrameworkControls=protected("EBS"))
    assert statuses(client, "f") == ("COMPLETED", "ACTIVE")


def test_a_framework_is_partially_active_when_some_governed_types_are_not_recorded(
    emulator: Any, client: Any
) -> None:
    emulator.control.set_recording(
        ACCOUNT_A, REGION, mode="exclude", resource_types=[VOLUME, DB_INSTANCE]
    )
    client.create_framework(FrameworkName="typed", FrameworkControls=protected("EBS", "EFS"))
    client.create_framework(FrameworkName="everything", FrameworkControls=ENCRYPTED + protected())
    assert statuses(client, "typed") == ("COMPLETED", "PARTIALLY_ACTIVE")
    assert statuses(client, "everything") == ("COMPLETED", "PARTIALLY_ACTIVE")


def test_a_deployment_fails_when_no_control_can_evaluate(emulator: Any, client: Any) -> None:
    emulator.control.set_recording(ACCOUNT_A, REGION, mode="exclude", resource_types=[VOLUME])
    client.create_framework(FrameworkName="ebs_only", FrameworkControls=protected("EBS"))
    client.create_framework(FrameworkName="plans", FrameworkControls=PLAN_CHECK)
    assert statuses(client, "ebs_only") == ("FAILED", "INACTIVE")
    assert statuses(client, "plans") == ("COMPLETED", "ACTIVE")  # backup plans are recorded
    listed = {
        f["FrameworkName"]: f["DeploymentStatus"] for f in client.list_frameworks()["Frameworks"]
    }
    assert listed == {"ebs_only": "FAILED", "plans": "COMPLETED"}


@pytest.mark.parametrize(
    "setting", [{"mode": "none"}, {"recording": False}], ids=["no-recorder", "stopped"]
)
def test_with_recording_off_every_deployment_fails_inactive(
    emulator: Any, client: Any, setting: dict[str, Any]
) -> None:
    emulator.control.set_recording(ACCOUNT_A, REGION, **setting)
    client.create_framework(FrameworkName="f", FrameworkControls=PLAN_CHECK)
    assert statuses(client, "f") == ("FAILED", "INACTIVE")


def test_unavailable_status_does_not_fail_the_deployment(emulator: Any, client: Any) -> None:
    emulator.control.set_recording(ACCOUNT_A, REGION, unavailable=True)
    client.create_framework(FrameworkName="f", FrameworkControls=PLAN_CHECK)
    assert statuses(client, "f") == ("COMPLETED", "UNAVAILABLE")


def test_the_status_follows_recording_but_a_finished_deployment_stays(
    emulator: Any, client: Any
) -> None:
    client.create_framework(FrameworkName="f", FrameworkControls=protected("EBS"))
    emulator.control.set_recording(ACCOUNT_A, REGION, mode="include", resource_types=[DB_INSTANCE])
    assert statuses(client, "f") == ("COMPLETED", "INACTIVE")
    client.update_framework(FrameworkName="f", FrameworkControls=protected("EBS", "RDS"))
    assert statuses(client, "f") == ("COMPLETED", "PARTIALLY_ACTIVE")
    client.update_framework(FrameworkName="f", FrameworkControls=protected("EBS"))
    assert statuses(client, "f") == ("FAILED", "INACTIVE")
    emulator.control.set_recording(ACCOUNT_A, REGION, mode="all")
    assert statuses(client, "f") == ("FAILED", "ACTIVE")


def test_recording_goes_back_to_its_start_value_on_reset() -> None:
    start = [f"{ACCOUNT_B}:{REGION}:except={VOLUME}"]
    with running_emulator(deploy_seconds=0, recording=start) as emulator:
        control = emulator.control
        assert control.recording() == [
            {
                "account": ACCOUNT_B,
                "region": REGION,
                "mode": "exclude",
                "resource_types": [VOLUME],
                "recording": True,
                "unavailable": False,
            }
        ]
        control.set_recording(ACCOUNT_B, REGION, mode="none")
        control.set_recording(ACCOUNT_A, REGION, mode="none")
        control.reset()
        assert [(r["account"], r["mode"]) for r in control.recording()] == [(ACCOUNT_B, "exclude")]


@pytest.mark.parametrize(
    "setting",
    [
        {"mode": "sometimes"},
        {"mode": "include"},
        {"mode": "include", "resource_types": ["EBS"]},
        {"mode": "all", "resource_types": [VOLUME]},
    ],
)
def test_a_bad_recording_is_refused_by_the_control_api(
    emulator: Any, setting: dict[str, Any]
) -> None:
    with pytest.raises(EmulatorControlError):
        emulator.control.set_recording(ACCOUNT_A, REGION, **setting)


# --- the mapping from controls to the resource types they evaluate ----------------------------


@pytest.mark.parametrize(
    ("control", "types"),
    [
        (
            {"ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"},
            {"AWS::Backup::BackupPlan"},
        ),
        ({"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}, {"AWS::Backup::RecoveryPoint"}),
        (
            {"ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"},
            {"AWS::Backup::RecoveryPoint"},
        ),
        (
            {"ControlName": "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"},
            {"AWS::Backup::BackupVault"},
        ),
        (
            {
                "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
                "ControlScope": {"ComplianceResourceTypes": ["EBS", "Aurora", "Neptune"]},
            },
            {VOLUME, "AWS::RDS::DBCluster"},
        ),
        (
            {
                "ControlName": "BACKUP_LAST_RECOVERY_POINT_CREATED",
                "ControlScope": {"Tags": {"a": "b"}},
            },
            set(rules.RESOURCE_FAMILIES.values()),
        ),
    ],
)
def test_each_control_evaluates_its_resource_types(
    control: dict[str, Any], types: set[str]
) -> None:
    assert rules.control_resource_types(control) == types


def test_every_control_of_the_catalogue_has_a_mapping() -> None:
    assert set(rules.CONTROL_RESOURCE_TYPES) == set(rules.CATALOGUE)
