"""Golden wire tests: every operation and every error the emulator can raise, driven by unmodified
boto3 over a real socket, checked against what botocore's ``backup`` model defines.

The raw request and response are captured with botocore's own event hooks (``before-send`` and
``after-call``), so what is compared is the HTTP on the wire, not boto3's parsed view of it.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from .conftest import ENCRYPTED, RETENTION_35, controls, retention

MODEL = botocore.session.get_session().get_service_model("backup")
ERROR_TYPE = "{}:http://internal.amazon.com/coral/com.amazonaws.backup/"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Wire:
    """The raw HTTP of the last call a client made, captured through botocore's event system."""

    def __init__(self, client: Any) -> None:
        self.request: Any = None
        self.response: Any = None
        client.meta.events.register("before-send.backup.*", self._before_send)
        client.meta.events.register("after-call.backup.*", self._after_call)

    def _before_send(self, request: Any, **kwargs: Any) -> None:
        self.request = request

    def _after_call(self, http_response: Any, **kwargs: Any) -> None:
        self.response = http_response

    @property
    def body(self) -> Any:
        return json.loads(self.response.content) if self.response.content else None


def assert_matches_shape(value: Any, shape: Any, where: str = "$") -> None:
    """Check a JSON value member by member against a botocore shape (REST-JSON and JSON 1.1
    encodings, which agree on these types)."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), where
        assert set(value) <= set(shape.members), f"{where}: {set(value) - set(shape.members)}"
        for key, item in value.items():
            assert_matches_shape(item, shape.members[key], f"{where}.{key}")
    elif kind == "list":
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            assert_matches_shape(item, shape.member, f"{where}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), where
        for key, item in value.items():
            assert_matches_shape(key, shape.key, f"{where} key")
            assert_matches_shape(item, shape.value, f"{where}[{key}]")
    elif kind == "string":
        assert isinstance(value, str), where
    elif kind == "timestamp":  # REST-JSON default: epoch seconds as a JSON number
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    else:
        raise AssertionError(f"{where}: unexpected shape type {kind}")


def assert_request_matches_model(wire: Wire, operation: str, name: str | None) -> None:
    model = MODEL.operation_model(operation)
    url = urlsplit(wire.request.url)
    assert wire.request.method == model.http["method"]
    assert url.path == model.http["requestUri"].replace(
        "{frameworkName}", quote(name or "", safe="")
    )
    query_names = {
        member.serialization["name"]
        for member in model.input_shape.members.values()
        if member.serialization.get("location") == "querystring"
    }
    assert set(parse_qs(url.query)) <= query_names


def assert_common_headers(wire: Wire, request_id: str) -> None:
    headers = wire.response.headers
    assert UUID.fullmatch(headers["x-amzn-RequestId"])
    assert headers["x-amzn-RequestId"] == request_id
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(wire.response.content)


# --- success, one test per operation -----------------------------------------------------------


def test_create_framework_answers_as_the_model_defines(client: Any) -> None:
    wire = Wire(client)
    answer = client.create_framework(FrameworkName="golden", FrameworkControls=RETENTION_35)
    assert_request_matches_model(wire, "CreateFramework", None)
    sent = json.loads(wire.request.body)
    assert set(sent) <= set(MODEL.operation_model("CreateFramework").input_shape.members)
    assert UUID.fullmatch(sent["IdempotencyToken"])  # botocore fills it in
    assert wire.response.status_code == 200
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])
    output = MODEL.operation_model("CreateFramework").output_shape
    assert set(wire.body) == set(output.members)
    assert_matches_shape(wire.body, output)


def test_update_framework_answers_as_the_model_defines(client: Any) -> None:
    client.create_framework(FrameworkName="golden", FrameworkControls=RETENTION_35)
    wire = Wire(client)
    answer = client.update_framework(
        FrameworkName="golden", FrameworkControls=ENCRYPTED, IdempotencyToken="t-1"
    )
    assert_request_matches_model(wire, "UpdateFramework", "golden")
    assert "FrameworkName" not in json.loads(wire.request.body)  # the name is only in the URI
    assert wire.response.status_code == 200
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])
    output = MODEL.operation_model("UpdateFramework").output_shape
    assert set(wire.body) == set(output.members)
    assert_matches_shape(wire.body, output)


def test_describe_framework_answers_as_the_model_defines(client: Any) -> None:
    client.create_framework(FrameworkName="golden", FrameworkControls=ENCRYPTED)
    wire = Wire(client)
    answer = client.describe_framework(FrameworkName="golden")
    assert_request_matches_model(wire, "DescribeFramework", "golden")
    assert not wire.request.body
    assert wire.response.status_code == 200
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])
    output = MODEL.operation_model("DescribeFramework").output_shape
    assert set(wire.body) == set(output.members)
    assert_matches_shape(wire.body, output)
    # Empty members come back as AWS shows them: "", [] and {}.
    assert wire.body["FrameworkDescription"] == ""
    assert wire.body["FrameworkControls"] == [
        {
            "ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED",
            "ControlInputParameters": [],
            "ControlScope": {},
        }
    ]


def test_list_frameworks_answers_as_the_model_defines(client: Any) -> None:
    for days in ("30", "35"):
        client.create_framework(FrameworkName=f"d{days}", FrameworkControls=retention(days))
    wire = Wire(client)
    answer = client.list_frameworks(MaxResults=1)
    assert_request_matches_model(wire, "ListFrameworks", None)
    assert parse_qs(urlsplit(wire.request.url).query) == {"MaxResults": ["1"]}
    assert wire.response.status_code == 200
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])
    output = MODEL.operation_model("ListFrameworks").output_shape
    assert set(wire.body) == {"Frameworks", "NextToken"}
    assert_matches_shape(wire.body, output)
    assert set(wire.body["Frameworks"][0]) == set(output.members["Frameworks"].member.members)


def test_delete_framework_answers_as_the_model_defines(client: Any) -> None:
    client.create_framework(FrameworkName="golden", FrameworkControls=ENCRYPTED)
    wire = Wire(client)
    answer = client.delete_framework(FrameworkName="golden")
    assert_request_matches_model(wire, "DeleteFramework", "golden")
    assert MODEL.operation_model("DeleteFramework").output_shape is None
    assert wire.response.status_code == 200
    assert wire.response.content == b""
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])


# --- errors -------------------------------------------------------------------------------------


@dataclass
class Case:
    operation: str
    error: str
    call: Callable[[Any], Any]
    setup: Callable[[Any, Any], None] = lambda emulator, client: None
    validate: bool = True  # False: turn off botocore's client-side checks to reach the service's

    def __str__(self) -> str:
        return f"{self.operation}-{self.error}"


def _create(name: str, framework_controls: list[dict[str, Any]] = ENCRYPTED) -> Callable[..., None]:
    def setup(emulator: Any, client: Any) -> None:
        client.create_framework(FrameworkName=name, FrameworkControls=framework_controls)

    return setup


def _busy(emulator: Any, client: Any) -> None:
    emulator.control.configure(deploy_seconds=60)
    client.create_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED)


def _inject(error: str, then: Callable[..., None] | None = None) -> Callable[..., None]:
    def setup(emulator: Any, client: Any) -> None:
        if then:
            then(emulator, client)
        emulator.control.fail_next(error)

    return setup


def _quota(emulator: Any, client: Any) -> None:
    emulator.control.configure(max_frameworks=1, max_controls=2)
    client.create_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED)


def _two(emulator: Any, client: Any) -> None:
    _create("f1")(emulator, client)
    _create("f2", RETENTION_35)(emulator, client)


THREE = controls(
    "BACKUP_RECOVERY_POINT_ENCRYPTED",
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    "BACKUP_LAST_RECOVERY_POINT_CREATED",
)
CASES = [
    Case(
        "CreateFramework",
        "AlreadyExistsException",
        lambda c: c.create_framework(FrameworkName="f1", FrameworkControls=RETENTION_35),
        _create("f1"),
    ),
    Case(
        "CreateFramework",
        "LimitExceededException",
        lambda c: c.create_framework(FrameworkName="f2", FrameworkControls=RETENTION_35),
        _quota,
    ),
    Case(
        "CreateFramework",
        "InvalidParameterValueException",
        lambda c: c.create_framework(FrameworkName="has-hyphen", FrameworkControls=ENCRYPTED),
    ),
    Case(
        "CreateFramework",
        "MissingParameterValueException",
        lambda c: c.create_framework(FrameworkName="f1", FrameworkControls=[]),
    ),
    Case(
        "CreateFramework",
        "ServiceUnavailableException",
        lambda c: c.create_framework(FrameworkName="f1", FrameworkControls=ENCRYPTED),
        _inject("ServiceUnavailableException"),
    ),
    Case(
        "UpdateFramework",
        "AlreadyExistsException",
        lambda c: c.update_framework(FrameworkName="f2", FrameworkControls=ENCRYPTED),
        _two,
    ),
    Case(
        "UpdateFramework",
        "ResourceNotFoundException",
        lambda c: c.update_framework(FrameworkName="nope", FrameworkControls=ENCRYPTED),
    ),
    Case(
        "UpdateFramework",
        "LimitExceededException",
        lambda c: c.update_framework(FrameworkName="f1", FrameworkControls=THREE),
        _quota,
    ),
    Case(
        "UpdateFramework",
        "InvalidParameterValueException",
        lambda c: c.update_framework(
            FrameworkName="f1", FrameworkControls=controls("NOT_A_CONTROL")
        ),
        _create("f1"),
    ),
    Case(
        "UpdateFramework",
        "MissingParameterValueException",
        lambda c: c.update_framework(FrameworkName="f1", FrameworkControls=[]),
        _create("f1"),
    ),
    Case(
        "UpdateFramework",
        "ConflictException",
        lambda c: c.update_framework(FrameworkName="f1", FrameworkControls=RETENTION_35),
        _busy,
    ),
    Case(
        "UpdateFramework",
        "ServiceUnavailableException",
        lambda c: c.update_framework(FrameworkName="f1", FrameworkControls=RETENTION_35),
        _inject("ServiceUnavailableException", _create("f1")),
    ),
    Case(
        "DescribeFramework",
        "ResourceNotFoundException",
        lambda c: c.describe_framework(FrameworkName="nope"),
    ),
    Case(
        "DescribeFramework",
        "InvalidParameterValueException",
        lambda c: c.describe_framework(FrameworkName="has-hyphen"),
    ),
    Case(
        "DescribeFramework",
        "MissingParameterValueException",
        lambda c: c.describe_framework(FrameworkName=""),
        validate=False,
    ),
    Case(
        "DescribeFramework",
        "ServiceUnavailableException",
        lambda c: c.describe_framework(FrameworkName="f1"),
        _inject("ServiceUnavailableException", _create("f1")),
    ),
    Case(
        "ListFrameworks",
        "InvalidParameterValueException",
        lambda c: c.list_frameworks(MaxResults=1001),
    ),
    Case(
        "ListFrameworks",
        "ServiceUnavailableException",
        lambda c: c.list_frameworks(),
        _inject("ServiceUnavailableException"),
    ),
    Case(
        "DeleteFramework",
        "MissingParameterValueException",
        lambda c: c.delete_framework(FrameworkName=""),
        validate=False,
    ),
    Case(
        "DeleteFramework",
        "InvalidParameterValueException",
        lambda c: c.delete_framework(FrameworkName="has-hyphen"),
    ),
    Case(
        "DeleteFramework",
        "ServiceUnavailableException",
        lambda c: c.delete_framework(FrameworkName="f1"),
        _inject("ServiceUnavailableException", _create("f1")),
    ),
    Case(
        "DeleteFramework",
        "ConflictException",
        lambda c: c.delete_framework(FrameworkName="f1"),
        _busy,
    ),
    Case(
        "DeleteFramework",
        "ResourceNotFoundException",
        lambda c: c.delete_framework(FrameworkName="nope"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_error_is_on_the_wire_as_the_model_defines(
    case: Case, emulator: Any, make_client: Any
) -> None:
    client = make_client(parameter_validation=case.validate)
    case.setup(emulator, client)
    wire = Wire(client)
    error_class = getattr(client.exceptions, case.error)
    with pytest.raises(error_class) as raised:
        case.call(client)

    operation = MODEL.operation_model(case.operation)
    assert case.error in {shape.name for shape in operation.error_shapes}
    error_shape = MODEL.shape_for(case.error)
    status = error_shape.metadata.get("error", {}).get("httpStatusCode")
    expected_status = status or (500 if case.error == "ServiceUnavailableException" else 400)
    assert wire.response.status_code == expected_status
    assert wire.response.headers["x-amzn-ErrorType"] == ERROR_TYPE.format(case.error)
    body = wire.body
    assert body["Code"] == body["__type"] == case.error
    assert body["Message"]
    assert set(body) - {"__type"} <= set(error_shape.members)
    assert_matches_shape({k: v for k, v in body.items() if k != "__type"}, error_shape)
    error = raised.value.response
    assert_common_headers(wire, error["ResponseMetadata"]["RequestId"])
    assert error["Error"] == {"Code": case.error, "Message": body["Message"]}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == expected_status


@pytest.mark.parametrize(
    ("error", "status"), [("ThrottlingException", 400), ("AccessDeniedException", 403)]
)
def test_errors_outside_the_model_reach_boto3_as_client_errors(
    error: str, status: int, emulator: Any, client: Any
) -> None:
    emulator.control.fail_next(error, operation="ListFrameworks")
    wire = Wire(client)
    with pytest.raises(ClientError) as raised:
        client.list_frameworks()
    assert raised.value.response["Error"]["Code"] == error
    assert wire.response.status_code == status
    assert wire.response.headers["x-amzn-ErrorType"] == ERROR_TYPE.format(error)
    assert wire.body["Code"] == wire.body["__type"] == error
    assert_common_headers(wire, raised.value.response["ResponseMetadata"]["RequestId"])


def test_an_unsigned_request_is_refused_with_403(make_client: Any) -> None:
    client = make_client(signature_version=UNSIGNED)
    wire = Wire(client)
    with pytest.raises(ClientError) as raised:
        client.list_frameworks()
    assert raised.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert wire.response.status_code == 403
    assert wire.response.headers["x-amzn-ErrorType"].startswith(
        "MissingAuthenticationTokenException:"
    )


def _raw(url: str, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    """One request per connection over http.client, for what boto3 will not send."""
    host, port = urlsplit(url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


SIGNED = "AWS4-HMAC-SHA256 Credential=111111111111/20240101/eu-west-1/backup/aws4_request, x"


def test_an_unknown_route_answers_404_with_a_json_error(emulator: Any) -> None:
    status, headers, body = _raw(emulator.url, "GET", "/audit/nothing", Authorization=SIGNED)
    assert status == 404
    assert UUID.fullmatch(headers["x-amzn-RequestId"])
    assert headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")
    assert json.loads(body)["Code"] == "UnknownOperationException"


def test_a_body_that_is_not_json_is_a_serialization_error(emulator: Any) -> None:
    status, _, body = _raw(
        emulator.url, "POST", "/audit/frameworks", b"{not json", Authorization=SIGNED
    )
    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"


def test_one_connection_carries_several_requests(emulator: Any) -> None:
    host, port = urlsplit(emulator.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        ids = set()
        for _ in range(3):
            connection.request("GET", "/audit/frameworks", headers={"Authorization": SIGNED})
            response = connection.getresponse()
            assert json.loads(response.read()) == {"Frameworks": []}
            ids.add(response.getheader("x-amzn-RequestId"))
        assert len(ids) == 3
        assert all(uuid.UUID(i).version == 4 for i in ids)
    finally:
        connection.close()
