"""Fixtures for the emulator's tests: an emulator on a real socket and boto3 clients aimed at it.

These tests need no database; they drive the emulator exactly as the product will, through
unmodified boto3 over HTTP. Clients are closed at teardown so no socket outlives its test
(``filterwarnings = ["error"]`` turns a leaked socket into a failure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from backup_emulator.testing import RunningEmulator, running_emulator

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
REGION = "eu-west-1"

ClientFactory = Callable[..., Any]


def controls(*names: str, **params: str) -> list[dict[str, Any]]:
    """A FrameworkControls list; ``params`` go on the first control."""
    result: list[dict[str, Any]] = [{"ControlName": name} for name in names]
    if params:
        result[0]["ControlInputParameters"] = [
            {"ParameterName": key, "ParameterValue": value} for key, value in params.items()
        ]
    return result


def retention(days: str) -> list[dict[str, Any]]:
    """One retention control; different ``days`` make frameworks that are not duplicates."""
    return controls("BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK", requiredRetentionDays=days)


ENCRYPTED = controls("BACKUP_RECOVERY_POINT_ENCRYPTED")
RETENTION_35 = controls("BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK", requiredRetentionDays="35")


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """An in-process emulator whose deployments complete at once."""
    with running_emulator(deploy_seconds=0) as running:
        yield running


@pytest.fixture
def make_client(emulator: RunningEmulator) -> Iterator[ClientFactory]:
    """Build backup clients for an account and Region; one attempt unless ``attempts`` is given."""
    clients: list[Any] = []

    def make(
        account: str = ACCOUNT_A,
        region: str = REGION,
        *,
        attempts: int = 1,
        endpoint_url: str | None = None,
        **config: Any,
    ) -> Any:
        client = boto3.client(
            "backup",
            region_name=region,
            endpoint_url=endpoint_url or emulator.url,
            aws_access_key_id=account,
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}, **config),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_aws_client(emulator: RunningEmulator) -> Iterator[ClientFactory]:
    """Build a client of any service (sts, config, backup) with the given credentials; one
    attempt, closed at teardown. ``credentials`` may be an STS Credentials answer."""
    clients: list[Any] = []

    def make(
        service: str,
        credentials: dict[str, Any] | str = ACCOUNT_A,
        region: str = REGION,
        **config: Any,
    ) -> Any:
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
            region_name=region,
            endpoint_url=emulator.url,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
            **keys,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> Any:
    """A client of account 111111111111 in eu-west-1 that does not retry."""
    return make_client()
