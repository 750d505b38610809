"""Who is calling: long-term keys, IAM roles that can be assumed, and STS temporary credentials.

Every request names an access key id in its SigV4 ``Credential=`` scope. The emulator reads it so:

* **12 digits** (``111111111111``): a long-term key of that account, the IAM user
  ``arn:aws:iam::<account>:user/emulator``. This is how tests and the demo name an account.
* **issued by this emulator's AssumeRole** (``ASIA`` + 16 characters): the role's account, as the
  assumed-role session ``arn:aws:sts::<account>:assumed-role/<role>/<session>``. The request must
  carry the session token it was issued with (``X-Amz-Security-Token``), and the key must not have
  expired on the emulator's clock.
* **any other key starting ``ASIA``**: a temporary key nobody issued -> UnrecognizedClientException
  (Backup, Config) / InvalidClientTokenId (STS), "The security token included in the request is
  invalid.".
* **anything else** (``AKIA...``): a long-term key of the default account 123456789012.

Roles: ``Role(account, name, external_id, max_session_duration, trusted_accounts)``. AssumeRole of
``arn:aws:iam::<account>:role/<name>`` succeeds when the role exists, the caller's account is
trusted (``trusted_accounts`` None = any account) and the ExternalId equals the role's
``external_id`` (a role whose ``external_id`` is None takes any or none). Otherwise AWS's words:
``AccessDenied`` "User: <caller arn> is not authorized to perform: sts:AssumeRole on resource:
<role arn>" -- the same for a role that does not exist, since AWS does not say which.
DurationSeconds defaults to 3600 and must be 900..43200 and at most the role's
``max_session_duration`` (3600 by default, as IAM's); a session assumed by another assumed-role
session (role chaining) is limited to 3600.

The clock is the State's (``State.now()``), which a test can move forward through the control API
(``advance_clock``), so expiry is tested without sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from .rules import (
    EXPIRED_MESSAGE,
    EXPIRED_TOKEN,
    UNRECOGNIZED_CLIENT,
    UNRECOGNIZED_MESSAGE,
    ApiError,
)

DEFAULT_ACCOUNT = "123456789012"
ACCOUNT_KEY = re.compile(r"[0-9]{12}")
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
ROLE_ARN = re.compile(r"arn:aws:iam::(?P<account>[0-9]{12}):role/(?:[\w+=,.@/-]*/)?(?P<name>[^/]+)")
SESSION_NAME = re.compile(r"[\w+=,.@-]*")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]*")
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 900, 43200, 3600
CHAINED_MAX_DURATION = 3600
TEMPORARY_PREFIX = "ASIA"
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Role:
    account: str
    name: str
    external_id: str | None = None
    max_session_duration: int = DEFAULT_DURATION
    trusted_accounts: tuple[str, ...] | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.name}"

    @property
    def role_id(self) -> str:
        return "AROA" + _stable_id(self.arn)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.trusted_accounts is not None:
            data["trusted_accounts"] = list(self.trusted_accounts)
        data["arn"] = self.arn
        return data


def make_role(
    *,
    account: str,
    name: str,
    external_id: str | None = None,
    max_session_duration: int = DEFAULT_DURATION,
    trusted_accounts: list[str] | None = None,
) -> Role:
    """A checked Role; ValueError names what is wrong (the control API answers 400)."""
    if not isinstance(account, str) or not ACCOUNT_KEY.fullmatch(account):
        raise ValueError(f"account must be 12 digits, not {account!r}")
    if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
        raise ValueError(f"role name must be 1-64 of letters, digits and +=,.@_- : {name!r}")
    if external_id is not None and (
        not isinstance(external_id, str)
        or not 2 <= len(external_id) <= 1224
        or not EXTERNAL_ID.fullmatch(external_id)
    ):
        raise ValueError(
            f"external_id must be 2-1224 of letters, digits and +=,.@:/_- : {external_id!r}"
        )
    duration = int(max_session_duration)
    if not DEFAULT_DURATION <= duration <= MAX_DURATION:
        raise ValueError(f"max_session_duration must be {DEFAULT_DURATION}..{MAX_DURATION}")
    trusted = None
    if trusted_accounts is not None:
        trusted = tuple(str(a) for a in trusted_accounts)
        if not all(ACCOUNT_KEY.fullmatch(a) for a in trusted):
            raise ValueError(f"trusted_accounts must be 12-digit account ids: {trusted_accounts}")
    return Role(account, name, external_id, duration, trusted)


def parse_role_spec(spec: str) -> Role:
    """``ACCOUNT:NAME[:EXTERNAL_ID]`` from the command line."""
    account, _, rest = spec.partition(":")
    name, _, external_id = rest.partition(":")
    return make_role(account=account, name=name, external_id=external_id or None)


@dataclass(frozen=True)
class Principal:
    """The identity behind an access key."""

    account: str
    arn: str
    user_id: str
    access_key: str
    temporary: bool = False


@dataclass
class Session:
    """Temporary credentials issued by AssumeRole."""

    access_key: str
    secret_key: str
    session_token: str
    expiration: float
    account: str
    role_name: str
    session_name: str
    role_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"

    @property
    def assumed_role_id(self) -> str:
        return f"{self.role_id}:{self.session_name}"


def _stable_id(text: str) -> str:
    """17 upper-case characters derived from ``text``, as IAM's unique ids look."""
    digest = base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()
    return digest[:17]


def long_term_principal(access_key: str) -> Principal:
    account = access_key if ACCOUNT_KEY.fullmatch(access_key) else DEFAULT_ACCOUNT
    return Principal(
        account=account,
        arn=f"arn:aws:iam::{account}:user/emulator",
        user_id="AIDA" + _stable_id(f"{account}:emulator"),
        access_key=access_key,
    )


def resolve(
    access_key: str, session_token: str | None, sessions: dict[str, Session], now: float
) -> Principal:
    """The principal of a request, or the ApiError AWS answers for its credentials."""
    session = sessions.get(access_key)
    if session is None:
        if access_key.startswith(TEMPORARY_PREFIX):
            raise ApiError(UNRECOGNIZED_CLIENT, UNRECOGNIZED_MESSAGE)
        return long_term_principal(access_key)
    if session_token != session.session_token:
        raise ApiError(UNRECOGNIZED_CLIENT, UNRECOGNIZED_MESSAGE)
    if now >= session.expiration:
        raise ApiError(EXPIRED_TOKEN, EXPIRED_MESSAGE)
    return Principal(
        account=session.account,
        arn=session.arn,
        user_id=session.assumed_role_id,
        access_key=access_key,
        temporary=True,
    )


def validation_error(value: Any, member: str, constraint: str) -> ApiError:
    """STS's wording for a value outside the model's constraints."""
    shown = "null" if value is None else f"'{value}'"
    return ApiError(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _check_length(value: str, member: str, low: int, high: int, pattern: re.Pattern[str]) -> None:
    if len(value) < low:
        raise validation_error(
            value, member, f"Member must have length greater than or equal to {low}"
        )
    if len(value) > high:
        raise validation_error(
            value, member, f"Member must have length less than or equal to {high}"
        )
    if not pattern.fullmatch(value):
        raise validation_error(
            value, member, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )


def assume_role(
    caller: Principal,
    params: dict[str, str],
    roles: dict[tuple[str, str], Role],
    now: float,
) -> Session:
    """Check an AssumeRole request as STS does, in STS's order; return the new session."""
    role_arn = params.get("RoleArn")
    session_name = params.get("RoleSessionName")
    if role_arn is None:
        raise validation_error(None, "roleArn", "Member must not be null")
    if session_name is None:
        raise validation_error(None, "roleSessionName", "Member must not be null")
    if len(role_arn) < 20:
        raise validation_error(
            role_arn, "roleArn", "Member must have length greater than or equal to 20"
        )
    _check_length(session_name, "roleSessionName", 2, 64, SESSION_NAME)
    external_id = params.get("ExternalId")
    if external_id is not None:
        _check_length(external_id, "externalId", 2, 1224, EXTERNAL_ID)
    duration = DEFAULT_DURATION
    raw_duration = params.get("DurationSeconds")
    if raw_duration is not None:
        if not re.fullmatch(r"-?[0-9]+", raw_duration):
            raise ApiError("ValidationError", f"Invalid value for DurationSeconds: {raw_duration}")
        duration = int(raw_duration)
        if duration < MIN_DURATION:
            raise validation_error(
                duration,
                "durationSeconds",
                f"Member must have value greater than or equal to {MIN_DURATION}",
            )
        if duration > MAX_DURATION:
            raise validation_error(
                duration,
                "durationSeconds",
                f"Member must have value less than or equal to {MAX_DURATION}",
            )
    match = ROLE_ARN.fullmatch(role_arn)
    if match is None:
        raise ApiError("ValidationError", f"{role_arn} is invalid")
    role = roles.get((match["account"], match["name"]))
    denied = ApiError(
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    if role is None:
        raise denied
    if role.trusted_accounts is not None and caller.account not in role.trusted_accounts:
        raise denied
    if role.external_id is not None and external_id != role.external_id:
        raise denied
    if caller.temporary and duration > CHAINED_MAX_DURATION:
        raise ApiError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining.",
        )
    if duration > role.max_session_duration:
        raise ApiError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    return Session(
        access_key=TEMPORARY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
        secret_key=secrets.token_urlsafe(30)[:40],
        session_token=base64.b64encode(secrets.token_bytes(192)).decode(),
        expiration=float(int(now) + duration),
        account=role.account,
        role_name=role.name,
        session_name=session_name,
        role_id=role.role_id,
    )
