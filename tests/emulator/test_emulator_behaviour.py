"""What the emulator does as AWS: paging, tenancy, ARNs, quotas, duplicates, asynchronous
deployment, FAILED deployments and idempotency tokens, all through boto3 over HTTP."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from backup_emulator.testing import running_emulator

from .conftest import ACCOUNT_A, ACCOUNT_B, ENCRYPTED, REGION, RETENTION_35, controls, retention

ARN = re.compile(
    r"arn:aws:backup:([a-z0-9-]+):([0-9]{12}):framework:([A-Za-z0-9_]+)-([0-9a-f-]{36})"
)


def status(client: Any, name: str) -> str:
    return client.describe_framework(FrameworkName=name)["DeploymentStatus"]


def test_list_pages_with_next_token_until_the_last_page(client: Any) -> None:
    for days in range(1, 6):
        client.create_framework(FrameworkName=f"f{days}", FrameworkControls=retention(str(days)))
    names, pages, token = [], 0, None
    while True:
        page = client.list_frameworks(MaxResults=2, **({"NextToken": token} if token else {}))
        pages += 1
        names += [f["FrameworkName"] for f in page["Frameworks"]]
        token = page.get("NextToken")
        if token is None:
            break
        assert not any(f"f{days}" in token for days in range(1, 6))  # opaque, no name in clear
    assert pages == 3
    assert sorted(names) == ["f1", "f2", "f3", "f4", "f5"]


@pytest.mark.parametrize("max_results", [0, 1001, -1])
def test_max_results_outside_1_to_1000_is_invalid(make_client: Any, max_results: int) -> None:
    client = make_client(parameter_validation=False)  # botocore itself refuses values below 1
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.list_frameworks(MaxResults=max_results)


def test_max_results_1_and_1000_are_accepted(client: Any) -> None:
    client.create_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED)
    assert len(client.list_frameworks(MaxResults=1)["Frameworks"]) == 1
    assert "NextToken" not in client.list_frameworks(MaxResults=1000)


def test_a_next_token_is_only_valid_for_its_own_account(make_client: Any) -> None:
    a, b = make_client(ACCOUNT_A), make_client(ACCOUNT_B)
    for days in ("1", "2"):
        a.create_framework(FrameworkName=f"f{days}", FrameworkControls=retention(days))
    token = a.list_frameworks(MaxResults=1)["NextToken"]
    with pytest.raises(b.exceptions.InvalidParameterValueException):
        b.list_frameworks(NextToken=token)
    with pytest.raises(a.exceptions.InvalidParameterValueException):
        a.list_frameworks(NextToken="garbage!")


def test_accounts_and_regions_are_kept_apart(make_client: Any) -> None:
    clients = {
        (ACCOUNT_A, REGION): make_client(ACCOUNT_A, REGION),
        (ACCOUNT_B, REGION): make_client(ACCOUNT_B, REGION),
        (ACCOUNT_A, "us-east-1"): make_client(ACCOUNT_A, "us-east-1"),
    }
    for (account, region), client in clients.items():
        arn = client.create_framework(FrameworkName="same", FrameworkControls=ENCRYPTED)[
            "FrameworkArn"
        ]
        assert ARN.fullmatch(arn).groups()[:3] == (region, account, "same")
    for client in clients.values():
        assert [f["FrameworkName"] for f in client.list_frameworks()["Frameworks"]] == ["same"]
    assert make_client(ACCOUNT_B, "us-east-1").list_frameworks()["Frameworks"] == []


def test_an_access_key_that_is_not_an_account_id_maps_to_123456789012(make_client: Any) -> None:
    client = make_client("AKIAIOSFODNN7EXAMPLE")
    arn = client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)["FrameworkArn"]
    assert ARN.fullmatch(arn).group(2) == "123456789012"


def test_the_arn_has_the_real_form_and_changes_when_recreated(client: Any) -> None:
    first = client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)["FrameworkArn"]
    assert uuid.UUID(ARN.fullmatch(first).group(4)).version == 4
    client.delete_framework(FrameworkName="f")
    again = client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)["FrameworkArn"]
    assert again != first


def test_the_framework_quota_is_per_account_and_region(emulator: Any, make_client: Any) -> None:
    emulator.control.configure(max_frameworks=2)
    a = make_client(ACCOUNT_A)
    for days in ("1", "2"):
        a.create_framework(FrameworkName=f"f{days}", FrameworkControls=retention(days))
    with pytest.raises(a.exceptions.LimitExceededException):
        a.create_framework(FrameworkName="f3", FrameworkControls=retention("3"))
    make_client(ACCOUNT_B).create_framework(FrameworkName="f3", FrameworkControls=retention("3"))


def test_the_control_quota_counts_controls_across_frameworks(emulator: Any, client: Any) -> None:
    emulator.control.configure(max_controls=3)
    client.create_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED + RETENTION_35)
    with pytest.raises(client.exceptions.LimitExceededException):
        client.create_framework(
            FrameworkName="f2",
            FrameworkControls=controls("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN")
            + retention("7"),
        )
    client.create_framework(FrameworkName="f2", FrameworkControls=retention("7"))
    with pytest.raises(client.exceptions.LimitExceededException):
        client.update_framework(FrameworkName="f2", FrameworkControls=ENCRYPTED + retention("7"))


def test_a_taken_name_already_exists(client: Any) -> None:
    arn = client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)["FrameworkArn"]
    with pytest.raises(client.exceptions.AlreadyExistsException) as raised:
        client.create_framework(FrameworkName="f", FrameworkControls=RETENTION_35)
    assert raised.value.response["Arn"] == arn
    assert raised.value.response["Error"]["Message"] == "Framework f already exists."


def test_the_same_controls_already_exist_in_awss_words_naming_the_new_framework(
    client: Any,
) -> None:
    arn = client.create_framework(FrameworkName="first", FrameworkControls=ENCRYPTED)[
        "FrameworkArn"
    ]
    with pytest.raises(client.exceptions.AlreadyExistsException) as raised:
        client.create_framework(FrameworkName="second", FrameworkControls=ENCRYPTED)
    assert raised.value.response["Error"]["Message"] == (
        f"Controls in framework second from account {ACCOUNT_A} already exist."
    )
    assert raised.value.response["Arn"] == arn  # the framework that has them
    client.create_framework(FrameworkName="second", FrameworkControls=RETENTION_35)
    with pytest.raises(client.exceptions.AlreadyExistsException) as raised:
        client.update_framework(FrameworkName="second", FrameworkControls=ENCRYPTED)
    assert raised.value.response["Error"]["Message"] == (
        f"Controls in framework second from account {ACCOUNT_A} already exist."
    )


@pytest.mark.parametrize("value", [None, ""], ids=["no-value", "empty-value"])
def test_a_parameter_without_a_value_is_refused_at_once(client: Any, value: str | None) -> None:
    parameter = {"ParameterName": "principalArnList"}
    if value is not None:
        parameter["ParameterValue"] = value
    control = {
        "ControlName": "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
        "ControlInputParameters": [parameter],
    }
    with pytest.raises(client.exceptions.InvalidParameterValueException) as raised:
        client.create_framework(FrameworkName="f", FrameworkControls=[control])
    message = raised.value.response["Error"]["Message"]
    assert "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED" in message
    assert "'principalArnList' has no value" in message
    assert raised.value.response["Context"] == (
        "FrameworkControls[0].ControlInputParameters[0].ParameterValue"
    )
    assert client.list_frameworks()["Frameworks"] == []
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_framework(FrameworkName="f", FrameworkControls=[control])
    described = client.describe_framework(FrameworkName="f")
    assert described["FrameworkControls"][0]["ControlName"] == "BACKUP_RECOVERY_POINT_ENCRYPTED"


def test_an_empty_description_is_refused_and_an_absent_one_reads_empty(client: Any) -> None:
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.create_framework(
            FrameworkName="f", FrameworkDescription="", FrameworkControls=ENCRYPTED
        )
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    assert client.describe_framework(FrameworkName="f")["FrameworkDescription"] == ""
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_framework(
            FrameworkName="f", FrameworkDescription="", FrameworkControls=ENCRYPTED
        )


def test_the_same_controls_and_parameters_already_exist_whatever_the_order_and_scope(
    client: Any,
) -> None:
    both = [
        {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"},
        {
            "ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredFrequencyUnit", "ParameterValue": "hours"},
                {"ParameterName": "requiredFrequencyValue", "ParameterValue": "1"},
            ],
        },
    ]
    client.create_framework(FrameworkName="first", FrameworkControls=both)
    reordered = [dict(both[1]), {**both[0], "ControlScope": {"Tags": {"env": "prod"}}}]
    reordered[0]["ControlInputParameters"] = list(reversed(both[1]["ControlInputParameters"]))
    with pytest.raises(client.exceptions.AlreadyExistsException):
        client.create_framework(FrameworkName="second", FrameworkControls=reordered)
    client.create_framework(FrameworkName="second", FrameworkControls=both[:1] + both[:1])


def test_an_update_to_the_controls_of_another_framework_already_exists(client: Any) -> None:
    client.create_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED)
    client.create_framework(FrameworkName="f2", FrameworkControls=RETENTION_35)
    with pytest.raises(client.exceptions.AlreadyExistsException):
        client.update_framework(FrameworkName="f2", FrameworkControls=ENCRYPTED)
    client.update_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED)  # itself is fine


def test_deployment_is_asynchronous_and_blocks_update_and_delete(
    emulator: Any, client: Any
) -> None:
    emulator.control.configure(deploy_seconds=60)
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    described = client.describe_framework(FrameworkName="f")
    assert (described["DeploymentStatus"], described["FrameworkStatus"]) == (
        "CREATE_IN_PROGRESS",
        "ACTIVE",
    )
    assert client.list_frameworks()["Frameworks"][0]["DeploymentStatus"] == "CREATE_IN_PROGRESS"
    with pytest.raises(client.exceptions.ConflictException):
        client.update_framework(FrameworkName="f", FrameworkControls=RETENTION_35)
    with pytest.raises(client.exceptions.ConflictException):
        client.delete_framework(FrameworkName="f")
    emulator.control.finish_deployments()
    assert status(client, "f") == "COMPLETED"
    client.update_framework(FrameworkName="f", FrameworkControls=RETENTION_35)
    assert status(client, "f") == "UPDATE_IN_PROGRESS"
    emulator.control.finish_deployments("f")
    client.delete_framework(FrameworkName="f")
    assert status(client, "f") == "DELETE_IN_PROGRESS"
    emulator.control.finish_deployments()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_framework(FrameworkName="f")


def test_a_deployment_completes_after_deploy_seconds(emulator: Any, client: Any) -> None:
    emulator.control.configure(deploy_seconds=0.5)
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    assert status(client, "f") == "CREATE_IN_PROGRESS"
    time.sleep(0.6)
    assert status(client, "f") == "COMPLETED"


def test_an_identical_update_redeploys(emulator: Any, client: Any) -> None:
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    emulator.control.configure(deploy_seconds=60)
    client.update_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    assert status(client, "f") == "UPDATE_IN_PROGRESS"


@pytest.mark.parametrize(
    "params",
    [
        {"requiredFrequencyUnit": "hours", "requiredFrequencyValue": "25"},
        {"requiredFrequencyValue": "32"},  # the unit defaults to days
        {"requiredRetentionDays": "0"},
        {"requiredFrequencyUnit": "weeks"},
        {"notAParameter": "1"},
    ],
)
def test_a_value_out_of_range_or_an_unknown_parameter_is_accepted_then_fails(
    client: Any, params: dict[str, str]
) -> None:
    framework_controls = controls("BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK", **params)
    client.create_framework(FrameworkName="f", FrameworkControls=framework_controls)
    assert status(client, "f") == "FAILED"
    client.update_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)  # FAILED can be fixed
    assert status(client, "f") == "COMPLETED"


def test_a_value_in_range_for_its_unit_completes(client: Any) -> None:
    framework_controls = controls(
        "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
        requiredFrequencyUnit="days",
        requiredFrequencyValue="25",
    )
    client.create_framework(FrameworkName="f", FrameworkControls=framework_controls)
    assert status(client, "f") == "COMPLETED"


def test_the_same_token_replays_the_first_answer_and_does_nothing(
    emulator: Any, client: Any
) -> None:
    first = client.create_framework(
        FrameworkName="f", FrameworkControls=ENCRYPTED, IdempotencyToken="tok-1"
    )
    emulator.control.configure(deploy_seconds=60)
    again = client.create_framework(
        FrameworkName="f", FrameworkControls=ENCRYPTED, IdempotencyToken="tok-1"
    )
    assert again["FrameworkArn"] == first["FrameworkArn"]
    assert again["ResponseMetadata"]["RequestId"] != first["ResponseMetadata"]["RequestId"]
    assert status(client, "f") == "COMPLETED"  # nothing was redeployed
    update = {"FrameworkName": "f", "FrameworkControls": RETENTION_35, "IdempotencyToken": "u-1"}
    client.update_framework(**update)
    client.update_framework(**update)  # replayed, so no ConflictException while it deploys
    assert client.describe_framework(FrameworkName="f")["IdempotencyToken"] == "u-1"
    calls = [(c["operation"], c["effective"]) for c in emulator.control.calls()]
    assert calls == [
        ("CreateFramework", True),
        ("CreateFramework", False),
        ("DescribeFramework", False),
        ("UpdateFramework", True),
        ("UpdateFramework", False),
        ("DescribeFramework", False),
    ]


def test_tokens_are_per_account_and_operation(make_client: Any) -> None:
    a, b = make_client(ACCOUNT_A), make_client(ACCOUNT_B)
    a.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED, IdempotencyToken="t")
    b.create_framework(FrameworkName="g", FrameworkControls=ENCRYPTED, IdempotencyToken="t")
    assert [f["FrameworkName"] for f in b.list_frameworks()["Frameworks"]] == ["g"]
    a.update_framework(FrameworkName="f", FrameworkControls=RETENTION_35, IdempotencyToken="t")
    assert a.describe_framework(FrameworkName="f")["FrameworkControls"][0]["ControlName"] == (
        "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"
    )


def test_an_error_is_not_remembered_so_a_retry_with_the_token_runs(
    emulator: Any, client: Any
) -> None:
    emulator.control.fail_next("ServiceUnavailableException")
    kwargs = {"FrameworkName": "f", "FrameworkControls": ENCRYPTED, "IdempotencyToken": "t"}
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        client.create_framework(**kwargs)
    client.create_framework(**kwargs)
    assert [c["effective"] for c in emulator.control.calls()] == [False, True]


def test_describe_echoes_the_token_botocore_filled_in(emulator: Any, client: Any) -> None:
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    sent = emulator.control.calls()[-1]["idempotency_token"]
    assert uuid.UUID(sent).version == 4
    assert client.describe_framework(FrameworkName="f")["IdempotencyToken"] == sent


def test_describe_returns_controls_in_its_own_order(client: Any) -> None:
    sent = RETENTION_35 + ENCRYPTED
    client.create_framework(FrameworkName="f", FrameworkControls=sent)
    got = client.describe_framework(FrameworkName="f")["FrameworkControls"]
    assert [c["ControlName"] for c in got] == sorted(c["ControlName"] for c in sent)


def test_a_description_is_kept_when_an_update_omits_it(client: Any) -> None:
    client.create_framework(
        FrameworkName="f", FrameworkDescription="why", FrameworkControls=ENCRYPTED
    )
    client.update_framework(FrameworkName="f", FrameworkControls=RETENTION_35)
    assert client.describe_framework(FrameworkName="f")["FrameworkDescription"] == "why"
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_framework(
            FrameworkName="f", FrameworkDescription="  ", FrameworkControls=RETENTION_35
        )


def test_the_model_answers_without_http_too() -> None:
    with running_emulator(deploy_seconds=0) as emulator:
        emulator.state.execute(
            "CreateFramework",
            ACCOUNT_A,
            REGION,
            {"FrameworkName": "f", "FrameworkControls": ENCRYPTED},
        )
        assert emulator.state.dump()["frameworks"][0]["deployment_status"] == "COMPLETED"
