"""Normalisation folds away what AWS does not keep; the hash is the identity of the content."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from frameworks.document import (
    Control,
    Document,
    Parameter,
    Scope,
    content_hash,
    normalise,
    parse,
    to_api,
    update_kwargs,
)

from .builders import ENCRYPTED, FREQUENCY, PROTECTED, RETENTION, control, framework

#: The document behind the DescribeFramework answer of the reference, section 6.
WRITTEN = {
    "FrameworkName": "test",
    "FrameworkControls": [
        {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"},
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredRetentionDays", "ParameterValue": "1"}
            ],
        },
    ],
}
DESCRIBED = {
    "FrameworkName": "test",
    "FrameworkArn": (
        "arn:aws:backup:us-east-1:123456789012:framework:test-f0001b0a-0000-1111-ad3d-4444f5cc6666"
    ),
    "FrameworkDescription": "",
    "FrameworkControls": [
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredRetentionDays", "ParameterValue": "1"}
            ],
            "ControlScope": {},
        },
        {
            "ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED",
            "ControlInputParameters": [],
            "ControlScope": {},
        },
    ],
    "CreationTime": 1633463605.233,
    "DeploymentStatus": "COMPLETED",
    "FrameworkStatus": "ACTIVE",
}


def test_a_describe_answer_hashes_like_the_document_that_produced_it() -> None:
    assert content_hash(parse(DESCRIBED)) == content_hash(parse(WRITTEN))
    assert normalise(parse(DESCRIBED)) == normalise(parse(WRITTEN))


def test_the_hash_is_hex_sha256_and_stable() -> None:
    digest = content_hash(parse(WRITTEN))
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    # Pinned: a change to the canonical form must be deliberate (bump HASH_VERSION).
    assert digest == "d6e55574185b62ae3fc91b4ddbfd331c187d1f37b7343b7286c20eee978e3398"


def test_order_does_not_matter() -> None:
    first = framework(
        control(PROTECTED, {"ComplianceResourceTypes": ["EBS", "RDS"]}),
        control(
            FREQUENCY,
            {"Tags": {"a": "b"}},
            requiredFrequencyUnit="hours",
            requiredFrequencyValue="12",
        ),
    )
    second = framework(
        control(
            FREQUENCY,
            {"Tags": {"a": "b"}},
            requiredFrequencyValue="12",
            requiredFrequencyUnit="hours",
        ),
        control(PROTECTED, {"ComplianceResourceTypes": ["RDS", "EBS"]}),
    )
    assert content_hash(parse(first)) == content_hash(parse(second))
    assert normalise(parse(first)) == normalise(parse(second))


@pytest.mark.parametrize(
    "scope",
    [
        None,
        {},
        {"ComplianceResourceTypes": []},
        {"Tags": {}},
        {"ComplianceResourceTypes": [], "Tags": {}},
        {"Tags": []},
    ],
)
def test_empty_members_mean_all_resources(scope: dict[str, Any] | None) -> None:
    assert content_hash(parse(framework(control(ENCRYPTED, scope)))) == content_hash(
        parse(framework(control(ENCRYPTED)))
    )
    assert normalise(parse(framework(control(ENCRYPTED, scope)))).controls[0].scope is None


def test_an_empty_tag_value_is_not_the_same_as_no_tag() -> None:
    no_tag = parse(framework(control(ENCRYPTED)))
    empty_value = parse(framework(control(ENCRYPTED, {"Tags": {"Name": ""}})))
    value = parse(framework(control(ENCRYPTED, {"Tags": {"Name": "x"}})))
    assert len({content_hash(no_tag), content_hash(empty_value), content_hash(value)}) == 3


def test_the_name_and_framework_tags_are_not_content_but_the_description_is() -> None:
    base = parse(framework(control(ENCRYPTED), FrameworkDescription="d"))
    renamed = parse(framework(control(ENCRYPTED), FrameworkName="other", FrameworkDescription="d"))
    tagged = parse(
        framework(control(ENCRYPTED), FrameworkDescription="d", FrameworkTags={"a": "b"})
    )
    described = parse(framework(control(ENCRYPTED), FrameworkDescription="e"))
    assert content_hash(base) == content_hash(renamed) == content_hash(tagged)
    assert content_hash(base) != content_hash(described)


def test_an_empty_description_is_no_description() -> None:
    assert content_hash(parse(framework(control(ENCRYPTED), FrameworkDescription=""))) == (
        content_hash(parse(framework(control(ENCRYPTED))))
    )


def test_duplicates_count_as_a_multiset() -> None:
    once = parse(framework(control(ENCRYPTED)))
    twice = parse(framework(control(ENCRYPTED), control(ENCRYPTED)))
    assert content_hash(once) != content_hash(twice)
    ids_once = parse(framework(control(PROTECTED, {"ComplianceResourceTypes": ["EBS"]})))
    ids_twice = parse(framework(control(PROTECTED, {"ComplianceResourceTypes": ["EBS", "EBS"]})))
    assert content_hash(ids_once) != content_hash(ids_twice)


def test_values_are_compared_as_written() -> None:
    # "35" and "035" are the same number, but AWS stores and returns the string as sent.
    assert content_hash(parse(framework(control(RETENTION, requiredRetentionDays="35")))) != (
        content_hash(parse(framework(control(RETENTION, requiredRetentionDays="035"))))
    )


def test_normalise_is_idempotent_and_keeps_the_name() -> None:
    doc = parse(DESCRIBED)
    once = normalise(doc)
    assert normalise(once) == once
    assert once.name == "test"
    assert once.description is None
    assert [c.name for c in once.controls] == [
        "BACKUP_RECOVERY_POINT_ENCRYPTED",
        "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
    ]


def test_normalise_does_not_change_its_input() -> None:
    doc = parse(DESCRIBED)
    before = copy.deepcopy(doc)
    normalise(doc)
    assert doc == before


# --- serialising ----------------------------------------------------------------------------


def test_to_api_writes_only_the_members_present() -> None:
    doc = Document(
        name=None,
        controls=[
            Control(ENCRYPTED),
            Control(PROTECTED, [], Scope(resource_types=["EBS"])),
            Control(RETENTION, [Parameter("requiredRetentionDays", "35")], Scope(tags={})),
        ],
    )
    assert to_api(doc) == {
        "FrameworkControls": [
            {"ControlName": ENCRYPTED},
            {"ControlName": PROTECTED, "ControlScope": {"ComplianceResourceTypes": ["EBS"]}},
            {
                "ControlName": RETENTION,
                "ControlInputParameters": [
                    {"ParameterName": "requiredRetentionDays", "ParameterValue": "35"}
                ],
                "ControlScope": {"Tags": {}},
            },
        ]
    }


def test_update_kwargs_are_exactly_those_of_update_framework() -> None:
    doc = parse(
        framework(
            control(ENCRYPTED),
            FrameworkName="ignored",
            FrameworkDescription="d",
            FrameworkTags={"a": "b"},
        )
    )
    assert update_kwargs(doc, "real_name") == {
        "FrameworkName": "real_name",
        "FrameworkDescription": "d",
        "FrameworkControls": [{"ControlName": ENCRYPTED}],
    }
    no_description = parse(framework(control(ENCRYPTED)))
    assert update_kwargs(no_description, "n") == {
        "FrameworkName": "n",
        "FrameworkControls": [{"ControlName": ENCRYPTED}],
    }


def test_parse_keeps_empties_as_written() -> None:
    doc = parse(framework(control(PROTECTED, {"ComplianceResourceIds": [], "Tags": {}})))
    scope = doc.controls[0].scope
    assert scope == Scope(resource_ids=[], resource_types=None, tags={})
    assert parse(to_api(doc)) == doc
