"""The run-time controls tests use to make the emulator misbehave the ways AWS and networks do."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from backup_emulator.control import EmulatorControl, EmulatorControlError

from .conftest import ENCRYPTED, RETENTION_35, retention


def test_fail_next_answers_the_chosen_error_count_times_for_the_chosen_operation(
    emulator: Any, make_client: Any
) -> None:
    client = make_client(attempts=3)  # botocore retries 500s itself
    emulator.control.fail_next("ServiceUnavailableException", count=2, operation="ListFrameworks")
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)  # not affected
    answer = client.list_frameworks()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    codes = [(c["operation"], c["status"], c["error_code"]) for c in emulator.control.calls()]
    assert codes == [
        ("CreateFramework", 200, None),
        ("ListFrameworks", 500, "ServiceUnavailableException"),
        ("ListFrameworks", 500, "ServiceUnavailableException"),
        ("ListFrameworks", 200, None),
    ]


@pytest.mark.parametrize(
    "error", ["ConflictException", "AccessDeniedException", "ThrottlingException"]
)
def test_fail_next_takes_any_model_error_and_the_common_ones(
    emulator: Any, client: Any, error: str
) -> None:
    emulator.control.fail_next(error)
    with pytest.raises(ClientError) as raised:
        client.describe_framework(FrameworkName="f")
    assert raised.value.response["Error"]["Code"] == error


def test_a_bad_control_call_is_refused(emulator: Any) -> None:
    with pytest.raises(EmulatorControlError, match="NoSuchException"):
        emulator.control.fail_next("NoSuchException")
    with pytest.raises(EmulatorControlError, match="unknown operation"):
        emulator.control.drop_next(operation="CreateFrameworks")
    with pytest.raises(EmulatorControlError, match="no control"):
        EmulatorControl(emulator.url)._call("GET", "nothing")


def test_latency_delays_every_answer(emulator: Any, client: Any) -> None:
    emulator.control.set_latency(0.2)
    started = time.monotonic()
    client.list_frameworks()
    assert time.monotonic() - started >= 0.2
    emulator.control.set_latency(0)
    assert emulator.control.state()["latency"] == 0


def test_drop_next_closes_the_connection_without_acting(emulator: Any, client: Any) -> None:
    emulator.control.drop_next(operation="CreateFramework")
    with pytest.raises(ConnectionClosedError):
        client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    assert client.list_frameworks()["Frameworks"] == []
    dropped = emulator.control.calls()[0]
    assert (dropped["dropped"], dropped["effective"], dropped["status"]) == (True, False, None)


def test_drop_after_action_acts_and_loses_the_answer_and_the_token_then_replays(
    emulator: Any, client: Any
) -> None:
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    emulator.control.drop_next(after_action=True)
    update = {"FrameworkName": "f", "FrameworkControls": RETENTION_35, "IdempotencyToken": "u"}
    with pytest.raises(ConnectionClosedError):
        client.update_framework(**update)
    described = client.describe_framework(FrameworkName="f")
    assert described["IdempotencyToken"] == "u"  # how a worker learns its update landed
    client.update_framework(**update)  # the retry is replayed, not run again
    log = [(c["operation"], c["dropped"], c["effective"]) for c in emulator.control.calls()]
    assert log[1:] == [
        ("UpdateFramework", True, True),
        ("DescribeFramework", False, False),
        ("UpdateFramework", False, False),
    ]


def test_fail_next_deployment_fails_the_named_framework_only(emulator: Any, client: Any) -> None:
    emulator.control.fail_next_deployment(name="bad")
    client.create_framework(FrameworkName="good", FrameworkControls=ENCRYPTED)
    client.create_framework(FrameworkName="bad", FrameworkControls=RETENTION_35)
    statuses = {
        f["FrameworkName"]: f["DeploymentStatus"] for f in client.list_frameworks()["Frameworks"]
    }
    assert statuses == {"good": "COMPLETED", "bad": "FAILED"}
    client.update_framework(FrameworkName="bad", FrameworkControls=RETENTION_35)
    assert client.describe_framework(FrameworkName="bad")["DeploymentStatus"] == "COMPLETED"


def test_a_forced_failure_of_a_delete_leaves_the_framework_failed(
    emulator: Any, client: Any
) -> None:
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    emulator.control.fail_next_deployment()
    client.delete_framework(FrameworkName="f")
    assert client.describe_framework(FrameworkName="f")["DeploymentStatus"] == "FAILED"


def test_configure_calls_and_reset(emulator: Any, client: Any) -> None:
    config = emulator.control.configure(max_frameworks=1)
    assert config == {"deploy_seconds": 0.0, "max_frameworks": 1, "max_controls": 50}
    client.create_framework(FrameworkName="f", FrameworkControls=ENCRYPTED)
    assert len(emulator.control.calls()) == 1
    emulator.control.clear_calls()
    assert emulator.control.calls() == []
    emulator.control.fail_next("ThrottlingException")
    emulator.control.reset()
    assert emulator.control.state()["frameworks"] == []
    assert emulator.control.state()["config"]["max_frameworks"] == 15
    assert client.list_frameworks()["Frameworks"] == []  # the injected fault went too


def test_concurrent_creates_respect_the_quota(emulator: Any, make_client: Any) -> None:
    client = make_client(max_pool_connections=20)
    outcomes: list[str] = []

    def create(days: int) -> None:
        try:
            client.create_framework(
                FrameworkName=f"f{days}", FrameworkControls=retention(str(days))
            )
            outcomes.append("created")
        except client.exceptions.LimitExceededException:
            outcomes.append("limit")

    threads = [threading.Thread(target=create, args=(days,)) for days in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("created") == 15
    assert len(client.list_frameworks()["Frameworks"]) == 15
