"""frameworks/aws.py against the emulator over HTTP: calls, retry budget, error translation."""

from __future__ import annotations

import time

import pytest

from frameworks import aws
from frameworks.models import Target

CONTROLS = [{"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}]


@pytest.fixture
def conn(emulator) -> Target:
    # An unsaved Target is enough: aws.py only reads region, profile and endpoint.
    return Target(slug="t", region="eu-west-1", profile="acct1", endpoint_url=emulator.url)


def operations(emulator) -> list[str]:
    return [call["operation"] for call in emulator.control.calls()]


def test_create_describe_update_list_delete_round_trip(conn, emulator):
    created = aws.create_framework(
        conn, {"FrameworkName": "fw", "FrameworkControls": CONTROLS}, token="tok-1"
    )
    assert created["FrameworkArn"].startswith("arn:aws:backup:eu-west-1:111111111111:framework:fw-")
    described = aws.describe_framework(conn, "fw", max_attempts=1)
    assert described["IdempotencyToken"] == "tok-1"
    aws.update_framework(
        conn,
        {"FrameworkName": "fw", "FrameworkDescription": "d", "FrameworkControls": CONTROLS},
        token="tok-2",
    )
    assert aws.describe_framework(conn, "fw", max_attempts=1)["IdempotencyToken"] == "tok-2"
    assert [f["FrameworkName"] for f in aws.list_frameworks(conn, max_attempts=1)] == ["fw"]
    aws.delete_framework(conn, "fw")
    assert aws.list_frameworks(conn, max_attempts=1) == []


def test_list_follows_next_token_across_pages(conn, emulator):
    for i in range(5):
        aws.create_framework(
            conn,
            {
                "FrameworkName": f"f{i}",
                "FrameworkControls": [
                    {
                        "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
                        "ControlInputParameters": [
                            {"ParameterName": "requiredRetentionDays", "ParameterValue": str(i + 1)}
                        ],
                    }
                ],
            },
            token=f"t{i}",
        )
    emulator.control.clear_calls()
    names = [f["FrameworkName"] for f in aws.list_frameworks(conn, max_attempts=1, page_size=2)]
    assert sorted(names) == [f"f{i}" for i in range(5)]
    assert operations(emulator) == ["ListFrameworks"] * 3


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        ("ServiceUnavailableException", True),
        ("ThrottlingException", True),
        ("ConflictException", True),
        ("AccessDeniedException", False),
        ("InvalidParameterValueException", False),
        ("MissingParameterValueException", False),
        ("ResourceNotFoundException", False),
        ("AlreadyExistsException", False),
        ("LimitExceededException", False),
    ],
)
def test_every_aws_error_becomes_one_local_error(conn, emulator, code, transient):
    emulator.control.fail_next(code, count=1)
    with pytest.raises(aws.AwsError) as caught:
        aws.update_framework(
            conn, {"FrameworkName": "fw", "FrameworkControls": CONTROLS}, token="x"
        )
    error = caught.value
    assert error.code == code
    assert error.transient is transient
    assert (not error.transient) is not transient
    assert error.operation == "UpdateFramework"
    assert error.request_id
    assert error.http_status in {400, 403, 404, 409, 500, 503}
    assert error.words and error.message
    # max_attempts=1: exactly one HTTP request, whatever the error.
    assert operations(emulator) == ["UpdateFramework"]


def test_botocore_retries_transient_errors_within_the_budget_given(conn, emulator):
    emulator.control.fail_next("ServiceUnavailableException", count=2)
    assert aws.list_frameworks(conn, max_attempts=3) == []
    assert operations(emulator) == ["ListFrameworks"] * 3


def test_an_unknown_error_code_is_permanent(conn, emulator):
    error = aws.AwsError("SomethingNewException", "?", operation="UpdateFramework")
    assert not error.transient
    assert error.words == "AWS reported an unexpected error."


def test_a_read_timeout_is_transient(conn, emulator, settings):
    settings.AWS_READ_TIMEOUT = 1
    emulator.control.set_latency(1.5)
    with pytest.raises(aws.AwsError) as caught:
        aws.describe_framework(conn, "fw", max_attempts=1)
    emulator.control.set_latency(0)
    # The emulator is still answering the abandoned request: let it finish, so that its call
    # does not land in the next test's log.
    deadline = time.monotonic() + 10
    while "DescribeFramework" not in operations(emulator):
        assert time.monotonic() < deadline, "the emulator never finished the slow call"
        time.sleep(0.05)
    assert caught.value.code == "ReadTimeout"
    assert caught.value.transient


def test_a_dropped_connection_is_transient(conn, emulator):
    emulator.control.drop_next(count=1)
    with pytest.raises(aws.AwsError) as caught:
        aws.list_frameworks(conn, max_attempts=1)
    assert caught.value.code == "ConnectionError"
    assert caught.value.transient


def test_a_closed_port_is_a_transient_connection_error():
    conn = Target(slug="t", region="eu-west-1", profile="acct1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(aws.AwsError) as caught:
        aws.list_frameworks(conn, max_attempts=1)
    assert caught.value.code == "ConnectionError"


def test_missing_credentials_and_profiles_are_permanent(emulator):
    no_creds = Target(slug="t", region="eu-west-1", profile="", endpoint_url=emulator.url)
    with pytest.raises(aws.AwsError) as caught:
        aws.list_frameworks(no_creds, max_attempts=1)
    assert caught.value.code == "NoCredentials" and not caught.value.transient

    no_profile = Target(slug="t", region="eu-west-1", profile="nope", endpoint_url=emulator.url)
    with pytest.raises(aws.AwsError) as caught:
        aws.list_frameworks(no_profile, max_attempts=1)
    assert caught.value.code == "ProfileNotFound" and not caught.value.transient


def test_the_endpoint_can_come_from_botocores_own_environment_variable(monkeypatch, emulator):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BACKUP", emulator.url)
    conn = Target(slug="t", region="eu-west-1", profile="acct1", endpoint_url="")
    assert aws.list_frameworks(conn, max_attempts=1) == []
    assert operations(emulator) == ["ListFrameworks"]


def test_clients_are_cached_per_connection_and_budget(conn):
    assert aws.client_for(conn, max_attempts=1) is aws.client_for(conn, max_attempts=1)
    assert aws.client_for(conn, max_attempts=1) is not aws.client_for(conn, max_attempts=3)
