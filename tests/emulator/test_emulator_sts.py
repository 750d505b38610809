"""STS in the emulator: AssumeRole and GetCallerIdentity over the real Query protocol, temporary
credentials that act in the role's account, AWS's refusals, and expiry on a clock tests move."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from backup_emulator.control import EmulatorControlError
from backup_emulator.testing import running_emulator

from .conftest import ACCOUNT_A, ACCOUNT_B, ENCRYPTED, REGION

ROLE = "BackupFrameworksConsole"
EXTERNAL_ID = "console-external-id"
CALLER = "999999999999"  # the console's own account, trusted by both roles
NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
MODEL = botocore.session.get_session().get_service_model("sts")


def role_arn(account: str, name: str = ROLE) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


@pytest.fixture
def roles(emulator: Any) -> None:
    for account in (ACCOUNT_A, ACCOUNT_B):
        emulator.control.put_role(account, ROLE, external_id=EXTERNAL_ID)


@pytest.fixture
def sts(make_aws_client: Any) -> Any:
    return make_aws_client("sts", CALLER)


def assume(sts: Any, account: str, **extra: Any) -> dict[str, Any]:
    arguments = {
        "RoleArn": role_arn(account),
        "RoleSessionName": "console",
        "ExternalId": EXTERNAL_ID,
        **extra,
    }
    return sts.assume_role(**arguments)


def error_of(raised: Any) -> tuple[str, str, int]:
    response = raised.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return response["Error"]["Code"], response["Error"]["Message"], status


# --- temporary credentials act in the role's account -----------------------------------------


def test_credentials_from_assume_role_act_in_the_roles_account(
    roles: None, sts: Any, make_aws_client: Any, emulator: Any
) -> None:
    answer = assume(sts, ACCOUNT_B)
    credentials = answer["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", credentials["AccessKeyId"])
    backup = make_aws_client("backup", credentials)
    arn = backup.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)["FrameworkArn"]
    assert arn.startswith(f"arn:aws:backup:{REGION}:{ACCOUNT_B}:framework:f-")
    call = emulator.control.calls()[-1]
    assert (call["service"], call["operation"], call["account"]) == (
        "backup",
        "CreateFramework",
        ACCOUNT_B,
    )
    assert call["principal"] == f"arn:aws:sts::{ACCOUNT_B}:assumed-role/{ROLE}/console"
    assert answer["AssumedRoleUser"]["Arn"] == call["principal"]


def test_two_accounts_reached_through_their_roles_are_kept_apart(
    roles: None, sts: Any, make_aws_client: Any
) -> None:
    a = make_aws_client("backup", assume(sts, ACCOUNT_A)["Credentials"])
    b = make_aws_client("backup", assume(sts, ACCOUNT_B)["Credentials"])
    a.create_framework(FrameworkName="only_in_a", FrameworkControls=ENCRYPTED)
    b.create_framework(FrameworkName="only_in_b", FrameworkControls=ENCRYPTED)
    assert [f["FrameworkName"] for f in a.list_frameworks()["Frameworks"]] == ["only_in_a"]
    assert [f["FrameworkName"] for f in b.list_frameworks()["Frameworks"]] == ["only_in_b"]
    with pytest.raises(a.exceptions.ResourceNotFoundException):
        a.describe_framework(FrameworkName="only_in_b")


def test_get_caller_identity_names_the_user_or_the_assumed_role(
    roles: None, sts: Any, make_aws_client: Any
) -> None:
    me = sts.get_caller_identity()
    assert (me["Account"], me["Arn"]) == (CALLER, f"arn:aws:iam::{CALLER}:user/emulator")
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", me["UserId"])
    answer = assume(sts, ACCOUNT_A, RoleSessionName="alice@example.com")
    role_sts = make_aws_client("sts", answer["Credentials"])
    them = role_sts.get_caller_identity()
    assert them["Account"] == ACCOUNT_A
    assert them["Arn"] == f"arn:aws:sts::{ACCOUNT_A}:assumed-role/{ROLE}/alice@example.com"
    assert them["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]
    assert re.fullmatch(r"AROA[A-Z2-7]{17}:alice@example\.com", them["UserId"])


def test_a_profile_with_role_arn_and_external_id_works_through_aws_endpoint_url_sts(
    roles: None, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The way a product configures it: botocore's own assume-role provider, pointed at the
    emulator by AWS_ENDPOINT_URL_STS, no code of ours in between."""
    (tmp_path / "credentials").write_text(
        f"[console]\naws_access_key_id = {CALLER}\naws_secret_access_key = x\n"
    )
    (tmp_path / "config").write_text(
        f"[profile prod]\nrole_arn = {role_arn(ACCOUNT_B)}\nexternal_id = {EXTERNAL_ID}\n"
        "source_profile = console\nrole_session_name = sync\nduration_seconds = 900\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", emulator.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BACKUP", emulator.url)
    client = boto3.Session(profile_name="prod").client("backup", region_name=REGION)
    try:
        assert client.list_frameworks()["Frameworks"] == []
    finally:
        client.close()
    assume_call, list_call = emulator.control.calls()
    assert (assume_call["service"], assume_call["operation"]) == ("sts", "AssumeRole")
    assert assume_call["request"]["ExternalId"] == EXTERNAL_ID
    assert assume_call["request"]["DurationSeconds"] == "900"
    assert "SecretAccessKey" not in str(assume_call["response"])  # the log keeps no secret
    assert (list_call["operation"], list_call["account"]) == ("ListFrameworks", ACCOUNT_B)
    assert list_call["principal"].endswith(f":assumed-role/{ROLE}/sync")


# --- refusals in AWS's words -------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [{"ExternalId": "not-the-one"}, {}],
    ids=["wrong-external-id", "missing-external-id"],
)
def test_a_wrong_or_missing_external_id_is_access_denied(
    roles: None, sts: Any, extra: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=role_arn(ACCOUNT_A), RoleSessionName="console", **extra)
    assert error_of(raised) == (
        "AccessDenied",
        f"User: arn:aws:iam::{CALLER}:user/emulator is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn(ACCOUNT_A)}",
        403,
    )


def test_a_role_that_does_not_exist_is_refused_the_same_way(roles: None, sts: Any) -> None:
    with pytest.raises(ClientError) as raised:
        assume(sts, ACCOUNT_A, RoleArn=role_arn(ACCOUNT_A, "NoSuchRole"))
    code, message, status = error_of(raised)
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith(f"on resource: {role_arn(ACCOUNT_A, 'NoSuchRole')}")


def test_an_untrusted_account_may_not_assume_the_role(emulator: Any, sts: Any) -> None:
    emulator.control.put_role(ACCOUNT_A, ROLE, trusted_accounts=["333333333333"])
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=role_arn(ACCOUNT_A), RoleSessionName="console")
    assert error_of(raised)[0] == "AccessDenied"
    emulator.control.put_role(ACCOUNT_A, ROLE, trusted_accounts=[CALLER])
    sts.assume_role(RoleArn=role_arn(ACCOUNT_A), RoleSessionName="console")


def test_a_role_without_an_external_id_takes_any_or_none(emulator: Any, sts: Any) -> None:
    emulator.control.put_role(ACCOUNT_A, "Open")
    for extra in ({}, {"ExternalId": "whatever"}):
        answer = sts.assume_role(RoleArn=role_arn(ACCOUNT_A, "Open"), RoleSessionName="s1", **extra)
        assert answer["AssumedRoleUser"]["Arn"].endswith(":assumed-role/Open/s1")


# --- DurationSeconds ---------------------------------------------------------------------------


def expires_in(answer: dict[str, Any]) -> float:
    return (answer["Credentials"]["Expiration"] - datetime.now(UTC)).total_seconds()


def test_duration_seconds_defaults_to_an_hour_and_is_honoured(roles: None, sts: Any) -> None:
    assert 3590 < expires_in(assume(sts, ACCOUNT_A)) <= 3600
    assert 890 < expires_in(assume(sts, ACCOUNT_A, DurationSeconds=900)) <= 900


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        (
            899,
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 900",
        ),
        (
            43201,
            "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy "
            "constraint: Member must have value less than or equal to 43200",
        ),
        (
            3601,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ),
    ],
)
def test_duration_seconds_outside_the_limits_is_a_validation_error(
    roles: None, make_aws_client: Any, seconds: int, message: str
) -> None:
    sts = make_aws_client("sts", CALLER, parameter_validation=False)  # botocore checks the min
    with pytest.raises(ClientError) as raised:
        assume(sts, ACCOUNT_A, DurationSeconds=seconds)
    assert error_of(raised) == ("ValidationError", message, 400)


def test_a_role_with_a_longer_max_session_duration_allows_up_to_12_hours(
    emulator: Any, sts: Any
) -> None:
    emulator.control.put_role(ACCOUNT_A, ROLE, external_id=EXTERNAL_ID, max_session_duration=43200)
    assert 43190 < expires_in(assume(sts, ACCOUNT_A, DurationSeconds=43200)) <= 43200


def test_role_chaining_is_limited_to_one_hour(
    roles: None, sts: Any, make_aws_client: Any, emulator: Any
) -> None:
    emulator.control.put_role(ACCOUNT_B, "Next", max_session_duration=43200)
    chained = make_aws_client("sts", assume(sts, ACCOUNT_A)["Credentials"])
    with pytest.raises(ClientError) as raised:
        chained.assume_role(
            RoleArn=role_arn(ACCOUNT_B, "Next"), RoleSessionName="chained", DurationSeconds=3601
        )
    assert error_of(raised)[0] == "ValidationError"
    assert "role chaining" in error_of(raised)[1]
    answer = chained.assume_role(RoleArn=role_arn(ACCOUNT_B, "Next"), RoleSessionName="chained")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_B}:assumed-role/Next/chained"


def test_a_session_name_outside_the_model_is_a_validation_error(
    roles: None, make_aws_client: Any
) -> None:
    sts = make_aws_client("sts", CALLER, parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        assume(sts, ACCOUNT_A, RoleSessionName="has space")
    code, message, status = error_of(raised)
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith("1 validation error detected: Value 'has space' at 'roleSessionName'")


# --- expiry and unknown keys -------------------------------------------------------------------


def test_an_expired_key_answers_expired_token_in_each_services_words(
    roles: None, sts: Any, make_aws_client: Any, emulator: Any
) -> None:
    credentials = assume(sts, ACCOUNT_A, DurationSeconds=900)["Credentials"]
    backup = make_aws_client("backup", credentials)
    config = make_aws_client("config", credentials)
    role_sts = make_aws_client("sts", credentials)
    backup.list_frameworks()
    # Twenty seconds left (real seconds pass too, however loaded the machine), then none.
    emulator.control.advance_clock(880)
    backup.list_frameworks()
    emulator.control.advance_clock(20)
    expected = "The security token included in the request is expired"
    with pytest.raises(ClientError) as raised:
        backup.list_frameworks()
    assert error_of(raised) == ("ExpiredTokenException", expected, 403)
    assert raised.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"].startswith(
        "ExpiredTokenException:"
    )
    with pytest.raises(ClientError) as raised:
        config.describe_configuration_recorders()
    assert error_of(raised) == ("ExpiredTokenException", expected, 403)
    with pytest.raises(ClientError) as raised:
        role_sts.get_caller_identity()
    assert error_of(raised) == ("ExpiredToken", expected, 400)
    assert [s["expired"] for s in emulator.control.sessions()] == [True]
    logged = emulator.control.calls()[-3]
    assert (logged["operation"], logged["error_code"], logged["effective"]) == (
        "ListFrameworks",
        "ExpiredTokenException",
        False,
    )


def test_an_unknown_temporary_key_is_unrecognized(make_aws_client: Any) -> None:
    made_up = {
        "AccessKeyId": "ASIAAAAAAAAAAAAAAAAA",
        "SecretAccessKey": "x",
        "SessionToken": "token",
    }
    expected = "The security token included in the request is invalid."
    with pytest.raises(ClientError) as raised:
        make_aws_client("backup", made_up).list_frameworks()
    assert error_of(raised) == ("UnrecognizedClientException", expected, 403)
    with pytest.raises(ClientError) as raised:
        make_aws_client("config", made_up).describe_configuration_recorders()
    assert error_of(raised) == ("UnrecognizedClientException", expected, 403)
    with pytest.raises(ClientError) as raised:
        make_aws_client("sts", made_up).get_caller_identity()
    assert error_of(raised) == ("InvalidClientTokenId", expected, 403)


def test_a_temporary_key_without_its_session_token_is_unrecognized(
    roles: None, sts: Any, make_aws_client: Any
) -> None:
    credentials = dict(assume(sts, ACCOUNT_A)["Credentials"])
    credentials["SessionToken"] = "someone-elses"
    with pytest.raises(ClientError) as raised:
        make_aws_client("backup", credentials).list_frameworks()
    assert error_of(raised)[0] == "UnrecognizedClientException"


def test_sessions_survive_a_restart_from_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    roles = [f"{ACCOUNT_A}:{ROLE}:{EXTERNAL_ID}"]
    with running_emulator(deploy_seconds=0, state_file=state_file, roles=roles) as first:
        sts = boto3.client(
            "sts",
            region_name=REGION,
            endpoint_url=first.url,
            aws_access_key_id=CALLER,
            aws_secret_access_key="x",
        )
        credentials = assume(sts, ACCOUNT_A)["Credentials"]
        sts.close()
    with running_emulator(deploy_seconds=0, state_file=state_file, roles=roles) as second:
        backup = boto3.client(
            "backup",
            region_name=REGION,
            endpoint_url=second.url,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=Config(retries={"total_max_attempts": 1}),
        )
        backup.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
        backup.close()
        assert second.control.calls()[-1]["account"] == ACCOUNT_A


# --- the wire ----------------------------------------------------------------------------------


class Wire:
    def __init__(self, client: Any) -> None:
        self.response: Any = None
        self.request: Any = None
        client.meta.events.register("before-send.sts.*", self._before_send)
        client.meta.events.register("after-call.sts.*", self._after_call)

    def _before_send(self, request: Any, **kwargs: Any) -> None:
        self.request = request

    def _after_call(self, http_response: Any, **kwargs: Any) -> None:
        self.response = http_response

    def xml(self) -> ElementTree.Element:
        return ElementTree.fromstring(self.response.content)  # noqa: S314 (our own emulator)


def test_assume_role_answers_the_query_protocols_xml(roles: None, sts: Any) -> None:
    wire = Wire(sts)
    answer = assume(sts, ACCOUNT_A)
    assert wire.request.method == "POST"
    assert wire.request.headers["Content-Type"].startswith(b"application/x-www-form-urlencoded")
    assert "Action=AssumeRole" in wire.request.body
    assert b"/sts/aws4_request" in wire.request.headers["Authorization"]
    assert wire.response.status_code == 200
    assert wire.response.headers["Content-Type"] == "text/xml"
    assert wire.response.headers["x-amzn-RequestId"] == answer["ResponseMetadata"]["RequestId"]
    root = wire.xml()
    assert root.tag == f"{NS}AssumeRoleResponse"
    result = root.find(f"{NS}AssumeRoleResult")
    assert result is not None
    output = MODEL.operation_model("AssumeRole").output_shape
    assert {child.tag.removeprefix(NS) for child in result} <= set(output.members)
    credentials = result.find(f"{NS}Credentials")
    assert credentials is not None
    assert {c.tag.removeprefix(NS) for c in credentials} == set(
        output.members["Credentials"].members
    )
    expiration = credentials.findtext(f"{NS}Expiration")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expiration or "")
    assert (
        root.findtext(f"{NS}ResponseMetadata/{NS}RequestId")
        == (answer["ResponseMetadata"]["RequestId"])
    )


def test_an_sts_error_is_an_error_response_document(roles: None, sts: Any) -> None:
    wire = Wire(sts)
    with pytest.raises(ClientError) as raised:
        assume(sts, ACCOUNT_A, ExternalId="nope")
    root = wire.xml()
    assert root.tag == f"{NS}ErrorResponse"
    assert root.findtext(f"{NS}Error/{NS}Type") == "Sender"
    assert root.findtext(f"{NS}Error/{NS}Code") == "AccessDenied"
    assert root.findtext(f"{NS}Error/{NS}Message") == raised.value.response["Error"]["Message"]
    assert root.findtext(f"{NS}RequestId") == raised.value.response["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_answers_the_models_members(sts: Any) -> None:
    wire = Wire(sts)
    sts.get_caller_identity()
    result = wire.xml().find(f"{NS}GetCallerIdentityResult")
    assert result is not None
    output = MODEL.operation_model("GetCallerIdentity").output_shape
    assert {child.tag.removeprefix(NS) for child in result} == set(output.members)


# --- the control API ---------------------------------------------------------------------------


def test_roles_are_listed_replaced_deleted_and_reset_to_the_start_ones(
    sts: Any,
) -> None:
    with running_emulator(deploy_seconds=0, roles=[f"{ACCOUNT_A}:Start:start-id"]) as emulator:
        control = emulator.control
        assert [r["arn"] for r in control.roles()] == [role_arn(ACCOUNT_A, "Start")]
        assert control.roles()[0]["external_id"] == "start-id"
        control.put_role(ACCOUNT_B, "Added")
        control.delete_role(ACCOUNT_A, "Start")
        assert [r["arn"] for r in control.roles()] == [role_arn(ACCOUNT_B, "Added")]
        control.reset()
        assert [r["arn"] for r in control.roles()] == [role_arn(ACCOUNT_A, "Start")]


@pytest.mark.parametrize(
    "spec",
    [
        {"account": "123", "name": "R"},
        {"account": ACCOUNT_A, "name": "has space"},
        {"account": ACCOUNT_A, "name": "R", "external_id": "x"},
        {"account": ACCOUNT_A, "name": "R", "max_session_duration": 60},
    ],
)
def test_a_bad_role_is_refused_by_the_control_api(emulator: Any, spec: dict[str, Any]) -> None:
    with pytest.raises(EmulatorControlError):
        emulator.control._call("POST", "roles", spec)


def test_the_clock_only_moves_forward(emulator: Any) -> None:
    with pytest.raises(EmulatorControlError, match="forward"):
        emulator.control.advance_clock(-1)


def test_faults_can_be_injected_into_sts_by_name_only(
    roles: None, emulator: Any, sts: Any, make_aws_client: Any
) -> None:
    emulator.control.fail_next("ServiceUnavailableException", operation="AssumeRole")
    with pytest.raises(ClientError) as raised:
        assume(sts, ACCOUNT_A)
    assert error_of(raised)[::2] == ("ServiceUnavailable", 503)
    emulator.control.drop_next(operation="GetCallerIdentity")
    with pytest.raises(ConnectionClosedError):
        sts.get_caller_identity()
    # A fault for any operation is meant for Backup: credential calls do not use it up.
    emulator.control.fail_next("ThrottlingException")
    credentials = assume(sts, ACCOUNT_A)["Credentials"]
    with pytest.raises(ClientError) as raised:
        make_aws_client("backup", credentials).list_frameworks()
    assert error_of(raised)[0] == "ThrottlingException"
