"""The AWS boundary: the only module that imports boto3.

One cached client per (credentials, Region, endpoint, retry budget) with explicit timeouts, one
function per call, and every botocore failure translated into `AwsError`, which says whether the
failure is worth retrying. The caller chooses botocore's retry budget: sync may let botocore
retry reads; the apply path asks for exactly one HTTP request per attempt so that every attempt
AWS sees is one the history records.

The endpoint comes from the target when it names one, otherwise from boto3's own conventions
(`AWS_ENDPOINT_URL_BACKUP`, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`), otherwise real AWS.

A target may name an IAM role to assume (STS AssumeRole, with its external id and a session name
naming the console). The temporary keys live only in the memory of the process, inside botocore's
refreshable credentials, which assume the role again before the keys expire; nothing is written
to disk or to the database.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)
from django.conf import settings

if TYPE_CHECKING:
    pass


class Connection(Protocol):
    region: str
    profile: str
    endpoint_url: str
    role_arn: str
    external_id: str


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
    # STS, which words its errors its own way.
    "AccessDenied": ErrorKind(
        False,
        "AWS refused to let the console assume the role: the role's trust policy does not "
        "allow these credentials, or the external id is wrong or missing.",
    ),
    "InvalidClientTokenId": ErrorKind(False, "AWS did not recognise the credentials."),
    "ExpiredToken": ErrorKind(False, "The AWS credentials have expired."),
    "RegionDisabledException": ErrorKind(
        False, "STS is not enabled in this Region for the account that owns the credentials."
    ),
    "Throttling": ErrorKind(True, "AWS asked us to slow down (too many requests)."),
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

# Ask AWS for temporary keys of this lifetime (AWS's default and the roles' default maximum);
# botocore assumes the role again 15 minutes before they expire.
ROLE_SESSION_SECONDS = 3600


def _config(max_attempts: int, timeouts: tuple[int, int]) -> Config:
    return Config(
        connect_timeout=timeouts[0],
        read_timeout=timeouts[1],
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        user_agent_extra="backup-frameworks-console",
    )


class _AssumedRole(CredentialProvider):
    """A credential chain of one link: the role's refreshable credentials."""

    METHOD = "assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


def _assume_role(
    source: boto3.session.Session,
    *,
    role_arn: str,
    external_id: str,
    region: str,
    endpoint_url: str,
    timeouts: tuple[int, int],
) -> Callable[[], dict[str, str]]:
    """botocore's refresh callback: AssumeRole with the source credentials, in botocore's
    metadata form. A refusal is raised as AwsError naming AssumeRole, so whoever made the call
    that needed the keys learns that assuming the role is what failed."""
    sts = source.client(
        "sts",
        region_name=region,
        endpoint_url=endpoint_url or None,
        config=_config(settings.AWS_SYNC_MAX_ATTEMPTS, timeouts),
    )

    def refresh() -> dict[str, str]:
        kwargs: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": settings.AWS_ROLE_SESSION_NAME,
            "DurationSeconds": ROLE_SESSION_SECONDS,
        }
        if external_id:
            kwargs["ExternalId"] = external_id
        try:
            answer = sts.assume_role(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _translate(exc, "AssumeRole") from exc
        keys = answer["Credentials"]
        return {
            "access_key": keys["AccessKeyId"],
            "secret_key": keys["SecretAccessKey"],
            "token": keys["SessionToken"],
            "expiry_time": keys["Expiration"].isoformat(),
        }

    return refresh


@functools.lru_cache(maxsize=64)
def _session(
    profile: str,
    region: str,
    role_arn: str,
    external_id: str,
    endpoint_url: str,
    timeouts: tuple[int, int],
) -> boto3.session.Session:
    """One boto3 session per source of credentials; with a role, its clients share one set of
    temporary keys (one AssumeRole however many clients and calls)."""
    source = boto3.session.Session(profile_name=profile or None, region_name=region)
    if not role_arn:
        return source
    credentials = DeferredRefreshableCredentials(
        refresh_using=_assume_role(
            source,
            role_arn=role_arn,
            external_id=external_id,
            region=region,
            endpoint_url=endpoint_url,
            timeouts=timeouts,
        ),
        method=_AssumedRole.METHOD,
    )
    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([_AssumedRole(credentials)]))
    return boto3.session.Session(botocore_session=core, region_name=region)


@functools.lru_cache(maxsize=128)
def _cached_client(
    profile: str,
    region: str,
    endpoint_url: str,
    max_attempts: int,
    timeouts: tuple[int, int],
    role_arn: str = "",
    external_id: str = "",
    service: str = "backup",
) -> Any:
    session = _session(profile, region, role_arn, external_id, endpoint_url, timeouts)
    config = _config(max_attempts, timeouts)
    # The service is the caller's choice (backup, config or sts), so no overload can name it.
    return session.client(service, endpoint_url=endpoint_url or None, config=config)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget every client, session and temporary key (tests; a changed target)."""
    with _client_lock:
        _cached_client.cache_clear()
        _session.cache_clear()


def client_for(target: Connection, *, max_attempts: int, service: str = "backup") -> Any:
    """A boto3 client for the target. max_attempts=1 means exactly one HTTP request."""
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
                getattr(target, "role_arn", ""),
                getattr(target, "external_id", ""),
                service,
            )
    except botocore.exceptions.BotoCoreError as exc:
        raise _translate(exc, "Connect") from exc


def _call(
    target: Connection,
    operation: str,
    max_attempts: int,
    *,
    service: str = "backup",
    **kwargs: Any,
) -> dict[str, Any]:
    client = client_for(target, max_attempts=max_attempts, service=service)
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


@dataclass(frozen=True)
class Identity:
    """Who AWS says the console is in a target: the account and the principal's ARN."""

    account_id: str
    arn: str


def caller_identity(target: Connection, *, max_attempts: int = 1) -> Identity:
    """GetCallerIdentity with the target's credentials (after assuming its role, if any)."""
    answer = _call(target, "GetCallerIdentity", max_attempts, service="sts")
    return Identity(account_id=answer.get("Account", ""), arn=answer.get("Arn", ""))


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


def _client(target: Connection, max_attempts: int, service: str) -> Any:
    """A boto3 client of ``service`` for the target (the target's role assumed, if any)."""
    return client_for(target, max_attempts=max_attempts, service=service)


# --- S3: where the history's signed checkpoints are kept beyond the database's reach ---------


@functools.lru_cache(maxsize=4)
def _s3_client(region: str, timeouts: tuple[int, int]) -> Any:
    # boto3's default chain for credentials; AWS_ENDPOINT_URL_S3 (boto3's own convention)
    # points it at a local S3 instead of AWS.
    session = boto3.session.Session(region_name=region or None)
    config = Config(
        connect_timeout=timeouts[0],
        read_timeout=timeouts[1],
        retries={"mode": "standard", "total_max_attempts": 3},
        user_agent_extra="backup-frameworks-console",
    )
    return session.client("s3", config=config)


def put_locked_object(
    *, bucket: str, key: str, body: bytes, mode: str, retain_until: Any, region: str = ""
) -> dict[str, Any]:
    """Write one object under S3 Object Lock: nobody, the bucket's owner included (COMPLIANCE),
    can overwrite or delete this version before `retain_until`."""
    timeouts = (settings.AWS_CONNECT_TIMEOUT, settings.AWS_READ_TIMEOUT)
    try:
        with _client_lock:
            client = _s3_client(region, timeouts)
        return client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ObjectLockMode=mode,
            ObjectLockRetainUntilDate=retain_until,
            # Object Lock requires an integrity checksum on every write.
            ChecksumAlgorithm="SHA256",
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _translate(exc, "PutObject") from exc
