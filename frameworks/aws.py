"""The AWS boundary: the only module that imports boto3.

One cached client per (credentials, Region, endpoint, retry budget) with explicit timeouts, one
function per call, and every botocore failure translated into `AwsError`, which says whether the
failure is worth retrying. The caller chooses botocore's retry budget: sync may let botocore
retry reads; the apply path asks for exactly one HTTP request per attempt so that every attempt
AWS sees is one the history records.

The endpoint comes from the target when it names one, otherwise from boto3's own conventions
(`AWS_ENDPOINT_URL_BACKUP`, `AWS_ENDPOINT_URL`), otherwise real AWS.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import botocore.exceptions
from botocore.config import Config
from django.conf import settings

if TYPE_CHECKING:
    from mypy_boto3_backup import BackupClient


class Connection(Protocol):
    region: str
    profile: str
    endpoint_url: str


@dataclass(frozen=True)
class ErrorKind:
    transient: bool
    words: str


# How each AWS error is treated, and what a compliance person is told. Transient errors are worth
# another attempt later; permanent ones will fail the same way however often they are tried.
# Codes not listed here are permanent (see `AwsError.transient`). The README repeats this table.
ERRORS: dict[str, ErrorKind] = {
    "ServiceUnavailableException": ErrorKind(True, "AWS Backup was briefly unavailable."),
    "ThrottlingException": ErrorKind(True, "AWS asked us to slow down (too many requests)."),
    "TooManyRequestsException": ErrorKind(True, "AWS asked us to slow down (too many requests)."),
    "ConflictException": ErrorKind(
        True, "A previous change to this framework is still being deployed by AWS."
    ),
    "RequestTimeout": ErrorKind(True, "AWS did not answer in time."),
    "ReadTimeout": ErrorKind(True, "AWS did not answer in time."),
    "ConnectTimeout": ErrorKind(True, "AWS could not be reached in time."),
    "ConnectionError": ErrorKind(True, "The connection to AWS failed."),
    "InternalFailure": ErrorKind(True, "AWS had an internal error."),
    "InvalidParameterValueException": ErrorKind(
        False, "AWS refused a value in the framework as invalid."
    ),
    "MissingParameterValueException": ErrorKind(
        False, "AWS says a required value is missing from the framework."
    ),
    "ResourceNotFoundException": ErrorKind(False, "AWS has no framework of that name."),
    "AlreadyExistsException": ErrorKind(
        False,
        "A framework of that name, or with the same controls and parameters, already exists in "
        "this account and Region.",
    ),
    "LimitExceededException": ErrorKind(
        False, "This would exceed an AWS quota (frameworks or controls per account and Region)."
    ),
    "AccessDeniedException": ErrorKind(
        False, "The AWS credentials are not allowed to do this (check the IAM policy)."
    ),
    "UnrecognizedClientException": ErrorKind(False, "AWS did not recognise the credentials."),
    "InvalidSignatureException": ErrorKind(False, "AWS rejected the credentials' signature."),
    "ExpiredTokenException": ErrorKind(False, "The AWS credentials have expired."),
    "NoCredentials": ErrorKind(False, "No AWS credentials were found for this target."),
    "ProfileNotFound": ErrorKind(False, "The named AWS profile does not exist on this server."),
    "InvalidRequest": ErrorKind(False, "The request was not valid for AWS Backup."),
    "TagsNotApplied": ErrorKind(
        False, "AWS accepted the tag changes but reports other tags on the framework afterwards."
    ),
}


class AwsError(Exception):
    """A failed AWS call, with what is needed to record it and decide what to do next."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        operation: str,
        request_id: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.operation = operation
        self.request_id = request_id
        self.http_status = http_status

    @property
    def transient(self) -> bool:
        kind = ERRORS.get(self.code)
        return kind.transient if kind else False

    @property
    def permanent(self) -> bool:
        return not self.transient

    @property
    def words(self) -> str:
        """The failure in plain words, for people; the raw code and message are kept beside it."""
        kind = ERRORS.get(self.code)
        return kind.words if kind else "AWS reported an unexpected error."

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "operation": self.operation,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "transient": self.transient,
        }


def _translate(exc: Exception, operation: str) -> AwsError:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        return AwsError(
            error.get("Code") or "Unknown",
            error.get("Message") or str(exc),
            operation=operation,
            request_id=meta.get("RequestId", ""),
            http_status=meta.get("HTTPStatusCode"),
        )
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        code = "ReadTimeout"
    elif isinstance(exc, botocore.exceptions.ConnectTimeoutError):
        code = "ConnectTimeout"
    elif isinstance(exc, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError):
        # Refused, reset or closed before an answer: AWS may or may not have acted.
        code = "ConnectionError"
    elif isinstance(
        exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        code = "NoCredentials"
    elif isinstance(exc, botocore.exceptions.ProfileNotFound):
        code = "ProfileNotFound"
    elif isinstance(exc, botocore.exceptions.ParamValidationError):
        code = "InvalidRequest"
    else:
        code = type(exc).__name__
    return AwsError(code, str(exc), operation=operation)


_client_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _cached_client(
    profile: str,
    region: str,
    endpoint_url: str,
    max_attempts: int,
    timeouts: tuple[int, int],
    service: str = "backup",
) -> Any:
    session = boto3.session.Session(profile_name=profile or None, region_name=region)
    config = Config(
        connect_timeout=timeouts[0],
        read_timeout=timeouts[1],
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        user_agent_extra="backup-frameworks-console",
    )
    # The service is the caller's choice (backup or config), so no overload can name it.
    return session.client(service, endpoint_url=endpoint_url or None, config=config)  # type: ignore[call-overload]


def client_for(target: Connection, *, max_attempts: int) -> BackupClient:
    """A boto3 Backup client for the target. max_attempts=1 means exactly one HTTP request."""
    client: BackupClient = _client(target, max_attempts, "backup")
    return client


def _client(target: Connection, max_attempts: int, service: str) -> Any:
    """A boto3 client of ``service`` for the target; a target's endpoint URL (an emulator)
    serves AWS Config as well as AWS Backup."""
    timeouts = (settings.AWS_CONNECT_TIMEOUT, settings.AWS_READ_TIMEOUT)
    try:
        # Creating sessions is not thread-safe in boto3; clients themselves are.
        with _client_lock:
            return _cached_client(
                target.profile,
                target.region,
                target.endpoint_url,
                max_attempts,
                timeouts,
                service,
            )
    except botocore.exceptions.BotoCoreError as exc:
        raise _translate(exc, "Connect") from exc


def _call(
    target: Connection,
    operation: str,
    max_attempts: int,
    service: str = "backup",
    **kwargs: Any,
) -> dict[str, Any]:
    client = _client(target, max_attempts, service)
    method = getattr(client, _snake(operation))
    try:
        return method(**kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _translate(exc, operation) from exc


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def list_frameworks(
    target: Connection, *, max_attempts: int, page_size: int = 1000
) -> list[dict[str, Any]]:
    """Every framework summary of the target (boto3 has no paginator for this call)."""
    summaries: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": page_size}
        if token:
            kwargs["NextToken"] = token
        page = _call(target, "ListFrameworks", max_attempts, **kwargs)
        summaries.extend(page.get("Frameworks", []))
        token = page.get("NextToken")
        if not token:
            return summaries


def describe_framework(target: Connection, name: str, *, max_attempts: int) -> dict[str, Any]:
    return _call(target, "DescribeFramework", max_attempts, FrameworkName=name)


def create_framework(
    target: Connection, kwargs: dict[str, Any], *, token: str, max_attempts: int = 1
) -> dict[str, Any]:
    return _call(target, "CreateFramework", max_attempts, IdempotencyToken=token, **kwargs)


def update_framework(
    target: Connection, kwargs: dict[str, Any], *, token: str, max_attempts: int = 1
) -> dict[str, Any]:
    return _call(target, "UpdateFramework", max_attempts, IdempotencyToken=token, **kwargs)


def delete_framework(target: Connection, name: str, *, max_attempts: int = 1) -> dict[str, Any]:
    return _call(target, "DeleteFramework", max_attempts, FrameworkName=name)


# --- framework tags -------------------------------------------------------------------------


def list_tags(target: Connection, arn: str, *, max_attempts: int) -> dict[str, str]:
    """Every tag of a resource (ListTags pages with NextToken; boto3 has no paginator)."""
    tags: dict[str, str] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"ResourceArn": arn}
        if token:
            kwargs["NextToken"] = token
        page = _call(target, "ListTags", max_attempts, **kwargs)
        tags.update(page.get("Tags") or {})
        token = page.get("NextToken")
        if not token:
            return tags


def tag_resource(
    target: Connection, arn: str, tags: dict[str, str], *, max_attempts: int = 1
) -> dict[str, Any]:
    return _call(target, "TagResource", max_attempts, ResourceArn=arn, Tags=tags)


def untag_resource(
    target: Connection, arn: str, keys: list[str], *, max_attempts: int = 1
) -> dict[str, Any]:
    return _call(target, "UntagResource", max_attempts, ResourceArn=arn, TagKeyList=keys)


# --- AWS Config recording -------------------------------------------------------------------


def describe_config_recording(
    target: Connection, *, max_attempts: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """AWS Config's configuration recorders of the target and their status, as answered."""
    recorders = _call(target, "DescribeConfigurationRecorders", max_attempts, service="config").get(
        "ConfigurationRecorders", []
    )
    statuses = _call(
        target, "DescribeConfigurationRecorderStatus", max_attempts, service="config"
    ).get("ConfigurationRecordersStatus", [])
    return recorders, statuses
