"""Framework tags: ListTags, TagResource and UntagResource on framework ARNs, golden on the wire
against botocore's ``backup`` model, with AWS Backup's tag limits and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from .conftest import ACCOUNT_A, ACCOUNT_B, ENCRYPTED, REGION
from .test_emulator_wire import (
    ERROR_TYPE,
    MODEL,
    Wire,
    assert_common_headers,
    assert_matches_shape,
)


def create(client: Any, name: str = "f", **tags: str) -> str:
    answer = client.create_framework(
        FrameworkName=name, FrameworkControls=ENCRYPTED, FrameworkTags=tags
    )
    return answer["FrameworkArn"]


def assert_request_matches_model(wire: Wire, operation: str, arn: str) -> None:
    model = MODEL.operation_model(operation)
    url = urlsplit(wire.request.url)
    assert wire.request.method == model.http["method"]
    assert url.path == model.http["requestUri"].replace("{resourceArn}", quote(arn, safe=""))
    query_names = {
        member.serialization["name"]
        for member in model.input_shape.members.values()
        if member.serialization.get("location") == "querystring"
    }
    assert set(parse_qs(url.query)) <= query_names


# --- golden: one per operation -----------------------------------------------------------------


def test_list_tags_answers_as_the_model_defines(client: Any) -> None:
    arn = create(client, env="prod", owner="backup-team")
    wire = Wire(client)
    answer = client.list_tags(ResourceArn=arn, MaxResults=1)
    assert_request_matches_model(wire, "ListTags", arn)
    assert parse_qs(urlsplit(wire.request.url).query) == {"maxResults": ["1"]}
    assert wire.response.status_code == 200
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])
    output = MODEL.operation_model("ListTags").output_shape
    assert set(wire.body) == {"Tags", "NextToken"}
    assert_matches_shape(wire.body, output)
    assert wire.body["Tags"] == {"env": "prod"}


def test_tag_resource_answers_as_the_model_defines(client: Any) -> None:
    arn = create(client)
    wire = Wire(client)
    answer = client.tag_resource(ResourceArn=arn, Tags={"env": "prod"})
    assert_request_matches_model(wire, "TagResource", arn)
    assert set(json.loads(wire.request.body)) == {"Tags"}  # the ARN is only in the URI
    assert MODEL.operation_model("TagResource").output_shape is None
    assert wire.response.status_code == 200
    assert wire.response.content == b""
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])


def test_untag_resource_answers_as_the_model_defines(client: Any) -> None:
    arn = create(client, env="prod")
    wire = Wire(client)
    answer = client.untag_resource(ResourceArn=arn, TagKeyList=["env"])
    assert_request_matches_model(wire, "UntagResource", arn)
    assert json.loads(wire.request.body) == {"TagKeyList": ["env"]}
    assert MODEL.operation_model("UntagResource").output_shape is None
    assert wire.response.status_code == 200
    assert wire.response.content == b""
    assert_common_headers(wire, answer["ResponseMetadata"]["RequestId"])


# --- what the tags are -------------------------------------------------------------------------


def test_framework_tags_are_the_tags_tag_and_untag_change(client: Any) -> None:
    arn = create(client, env="prod", team="a")
    assert client.list_tags(ResourceArn=arn)["Tags"] == {"env": "prod", "team": "a"}
    client.tag_resource(ResourceArn=arn, Tags={"team": "b", "cost": ""})
    assert client.list_tags(ResourceArn=arn)["Tags"] == {"env": "prod", "team": "b", "cost": ""}
    client.untag_resource(ResourceArn=arn, TagKeyList=["env", "not-there"])
    assert client.list_tags(ResourceArn=arn)["Tags"] == {"team": "b", "cost": ""}


def test_list_tags_pages_in_key_order(client: Any) -> None:
    arn = create(client, **{f"k{i:02}": str(i) for i in range(5)})
    seen, token, pages = [], None, 0
    while True:
        page = client.list_tags(
            ResourceArn=arn, MaxResults=2, **({"NextToken": token} if token else {})
        )
        pages += 1
        seen += list(page["Tags"])
        token = page.get("NextToken")
        if token is None:
            break
    assert (pages, seen) == (3, ["k00", "k01", "k02", "k03", "k04"])


def test_a_next_token_belongs_to_its_framework(client: Any) -> None:
    first = create(client, "f1", a="1", b="2")
    second = client.create_framework(
        FrameworkName="f2",
        FrameworkControls=[
            {
                "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
                "ControlInputParameters": [
                    {"ParameterName": "requiredRetentionDays", "ParameterValue": "7"}
                ],
            }
        ],
    )["FrameworkArn"]
    token = client.list_tags(ResourceArn=first, MaxResults=1)["NextToken"]
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.list_tags(ResourceArn=second, NextToken=token)


def test_tag_writes_are_logged_with_whether_they_changed_anything(
    client: Any, emulator: Any
) -> None:
    arn = create(client)
    emulator.control.clear_calls()
    client.tag_resource(ResourceArn=arn, Tags={"env": "prod"})
    client.tag_resource(ResourceArn=arn, Tags={"env": "prod"})
    client.untag_resource(ResourceArn=arn, TagKeyList=["env"])
    client.untag_resource(ResourceArn=arn, TagKeyList=["env"])
    client.list_tags(ResourceArn=arn)
    logged = [
        (c["operation"], c["framework_name"], c["resource_arn"], c["effective"])
        for c in emulator.control.calls()
    ]
    assert logged == [
        ("TagResource", "f", arn, True),
        ("TagResource", "f", arn, False),
        ("UntagResource", "f", arn, True),
        ("UntagResource", "f", arn, False),
        ("ListTags", "f", arn, False),
    ]
    assert emulator.control.calls()[0]["request"] == {"ResourceArn": arn, "Tags": {"env": "prod"}}


def test_fifty_tags_are_allowed_and_the_fifty_first_is_over_the_limit(client: Any) -> None:
    arn = create(client, **{f"k{i}": "v" for i in range(49)})
    client.tag_resource(ResourceArn=arn, Tags={"k49": "v"})
    with pytest.raises(client.exceptions.LimitExceededException):
        client.tag_resource(ResourceArn=arn, Tags={"k50": "v"})
    client.tag_resource(ResourceArn=arn, Tags={"k0": "overwriting is not adding"})
    assert len(client.list_tags(ResourceArn=arn)["Tags"]) == 50


@pytest.mark.parametrize(
    ("tags", "error"),
    [
        ({"k" * 128: "v" * 256}, None),
        ({"k" * 129: "v"}, "InvalidParameterValueException"),
        ({"k": "v" * 257}, "InvalidParameterValueException"),
        ({"": "v"}, "InvalidParameterValueException"),
        ({"aws:created": "v"}, "InvalidParameterValueException"),
        ({"AWS:Created": "v"}, "InvalidParameterValueException"),
        ({"a b_.:/=+-@": "ünïcode 1"}, None),
        ({"semi;colon": "v"}, "InvalidParameterValueException"),
        ({"k": "a*b"}, "InvalidParameterValueException"),
        ({f"k{i}": "v" for i in range(51)}, "LimitExceededException"),
    ],
)
def test_create_framework_checks_framework_tags_the_same_way(
    client: Any, tags: dict[str, str], error: str | None
) -> None:
    call = lambda: client.create_framework(  # noqa: E731
        FrameworkName="f", FrameworkControls=ENCRYPTED, FrameworkTags=tags
    )
    if error is None:
        call()
        return
    with pytest.raises(getattr(client.exceptions, error)):
        call()


def test_a_framework_in_another_region_or_deleted_is_not_found(make_client: Any) -> None:
    here = make_client(ACCOUNT_A, REGION)
    arn = create(here)
    elsewhere = make_client(ACCOUNT_A, "us-east-1")
    with pytest.raises(elsewhere.exceptions.ResourceNotFoundException):
        elsewhere.list_tags(ResourceArn=arn)
    here.delete_framework(FrameworkName="f")
    with pytest.raises(here.exceptions.ResourceNotFoundException):
        here.list_tags(ResourceArn=arn)


def test_another_accounts_framework_is_access_denied(make_client: Any) -> None:
    arn = create(make_client(ACCOUNT_B))
    a = make_client(ACCOUNT_A)
    for call in (
        lambda: a.list_tags(ResourceArn=arn),
        lambda: a.tag_resource(ResourceArn=arn, Tags={"k": "v"}),
        lambda: a.untag_resource(ResourceArn=arn, TagKeyList=["k"]),
    ):
        with pytest.raises(a.exceptions.ClientError) as raised:
            call()
        error = raised.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        operation = raised.value.operation_name
        assert error["Message"] == (
            f"User: arn:aws:iam::{ACCOUNT_A}:user/emulator is not authorized to perform: "
            f"backup:{operation} on resource: {arn}"
        )


# --- every error on the wire -------------------------------------------------------------------


@dataclass
class Case:
    operation: str
    error: str
    call: Callable[[Any, str], Any]
    setup: Callable[[Any], None] = lambda emulator: None
    validate: bool = True

    def __str__(self) -> str:
        return f"{self.operation}-{self.error}"


def _unavailable(emulator: Any) -> None:
    emulator.control.fail_next("ServiceUnavailableException")


GONE = f"arn:aws:backup:{REGION}:{ACCOUNT_A}:framework:gone-6ba2ab4e-0b3f-4bd8-b3f0-fb5b2e5bbd0a"
CASES = [
    Case("ListTags", "ResourceNotFoundException", lambda c, arn: c.list_tags(ResourceArn=GONE)),
    Case(
        "ListTags",
        "InvalidParameterValueException",
        lambda c, arn: c.list_tags(ResourceArn="not-an-arn"),
    ),
    Case(
        "ListTags",
        "InvalidParameterValueException",
        lambda c, arn: c.list_tags(ResourceArn=arn, MaxResults=1001),
    ),
    Case(
        "ListTags",
        "ServiceUnavailableException",
        lambda c, arn: c.list_tags(ResourceArn=arn),
        _unavailable,
    ),
    Case(
        "TagResource",
        "ResourceNotFoundException",
        lambda c, arn: c.tag_resource(ResourceArn=GONE, Tags={"k": "v"}),
    ),
    Case(
        "TagResource",
        "InvalidParameterValueException",
        lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={"aws:k": "v"}),
    ),
    Case(
        "TagResource",
        "InvalidParameterValueException",
        lambda c, arn: c.tag_resource(
            ResourceArn=f"arn:aws:ec2:{REGION}:{ACCOUNT_A}:volume/vol-1", Tags={"k": "v"}
        ),
    ),
    Case(
        "TagResource",
        "MissingParameterValueException",
        lambda c, arn: c.tag_resource(ResourceArn=arn),
        validate=False,
    ),
    Case(
        "TagResource",
        "LimitExceededException",
        lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(51)}),
    ),
    Case(
        "TagResource",
        "ServiceUnavailableException",
        lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={"k": "v"}),
        _unavailable,
    ),
    Case(
        "UntagResource",
        "ResourceNotFoundException",
        lambda c, arn: c.untag_resource(ResourceArn=GONE, TagKeyList=["k"]),
    ),
    Case(
        "UntagResource",
        "InvalidParameterValueException",
        lambda c, arn: c.untag_resource(ResourceArn=arn, TagKeyList=["aws:k"]),
    ),
    Case(
        "UntagResource",
        "MissingParameterValueException",
        lambda c, arn: c.untag_resource(ResourceArn=arn),
        validate=False,
    ),
    Case(
        "UntagResource",
        "ServiceUnavailableException",
        lambda c, arn: c.untag_resource(ResourceArn=arn, TagKeyList=["k"]),
        _unavailable,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_tag_error_is_on_the_wire_as_the_model_defines(
    case: Case, emulator: Any, make_client: Any
) -> None:
    client = make_client(parameter_validation=case.validate)
    arn = create(client)
    case.setup(emulator)
    wire = Wire(client)
    with pytest.raises(getattr(client.exceptions, case.error)) as raised:
        case.call(client, arn)
    operation = MODEL.operation_model(case.operation)
    assert case.error in {shape.name for shape in operation.error_shapes}
    expected_status = 500 if case.error == "ServiceUnavailableException" else 400
    assert wire.response.status_code == expected_status
    assert wire.response.headers["x-amzn-ErrorType"] == ERROR_TYPE.format(case.error)
    body = wire.body
    assert body["Code"] == body["__type"] == case.error
    assert body["Message"]
    error_shape = MODEL.shape_for(case.error)
    assert_matches_shape({k: v for k, v in body.items() if k != "__type"}, error_shape)
    assert_common_headers(wire, raised.value.response["ResponseMetadata"]["RequestId"])
    assert raised.value.response["Error"] == {"Code": case.error, "Message": body["Message"]}
