"""The STS wire: AWS's Query protocol (form-encoded POST, XML answers), as botocore's ``sts``
2011-06-15 model defines it and botocore's ``QueryParser`` reads it.

Two operations, ``AssumeRole`` and ``GetCallerIdentity`` (the model lives in ``identity.py``).
A request is STS's when its SigV4 scope names the ``sts`` service or, unsigned, when it is a
form-encoded POST with an ``Action=``; clients reach it by setting ``AWS_ENDPOINT_URL_STS`` to the
emulator's URL (the same port as Backup).

Answers: ``<{Action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`` with an
``<{Action}Result>`` and ``<ResponseMetadata><RequestId>``; errors are ``<ErrorResponse>`` with
``<Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>`` and the RequestId. STS
words the credential failures its own way: ``ExpiredToken`` (400) and ``InvalidClientTokenId``
(403) where JSON services say ExpiredTokenException / UnrecognizedClientException.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .identity import Principal, Session

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
OPERATIONS = ("AssumeRole", "GetCallerIdentity")
VERSION = "2011-06-15"
# The JSON services' codes for the failures every endpoint shares, as STS spells them.
QUERY_CODES = {
    "ExpiredTokenException": "ExpiredToken",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "AccessDeniedException": "AccessDenied",
    "ThrottlingException": "Throttling",
    "ServiceUnavailableException": "ServiceUnavailable",
}


def is_query_request(method: str, content_type: str | None, raw: bytes) -> bool:
    """A form-encoded POST naming an Action: how an STS call looks without its signature."""
    form = (content_type or "").startswith("application/x-www-form-urlencoded")
    return method == "POST" and form and b"Action=" in raw


def parse_form(raw: bytes) -> dict[str, str]:
    values = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: items[0] for key, items in values.items()}


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _element(name: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def response(action: str, result: dict[str, Any], request_id: str) -> bytes:
    body = (
        f'<{action}Response xmlns="{NAMESPACE}">'
        f"{_element(action + 'Result', result)}"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
    return body.encode("utf-8")


def error(code: str, message: str, request_id: str, *, sender: bool = True) -> bytes:
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}">'
        f"<Error><Type>{'Sender' if sender else 'Receiver'}</Type>"
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId>"
        f"</ErrorResponse>"
    )
    return body.encode("utf-8")


def assume_role_result(session: Session) -> dict[str, Any]:
    """The AssumeRoleResult members, in the order AWS writes them."""
    return {
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.arn},
        "Credentials": {
            "AccessKeyId": session.access_key,
            "SecretAccessKey": session.secret_key,
            "SessionToken": session.session_token,
            "Expiration": _timestamp(session.expiration),
        },
    }


def caller_identity_result(principal: Principal) -> dict[str, Any]:
    return {"UserId": principal.user_id, "Account": principal.account, "Arn": principal.arn}
