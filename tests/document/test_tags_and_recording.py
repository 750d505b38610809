"""Framework tags (limits, the review hash, the plan of calls) and AWS Config recording in
words, in the document core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frameworks import document
from frameworks.document import (
    Recording,
    parse,
    proposal_findings,
    recording_findings,
    recording_from_config,
    recording_words,
    review_hash,
    tag_plan,
    tags_on_the_way,
    validate,
)

ENCRYPTED = "BACKUP_RECOVERY_POINT_ENCRYPTED"
PROTECTED = "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"
NO_EBS_RDS = Recording(
    all_types=True, excluded=frozenset({"AWS::EC2::Volume", "AWS::RDS::DBInstance"})
)


def doc(*controls: dict, **top: object) -> document.Document:
    return parse({"FrameworkName": "fw", "FrameworkControls": list(controls), **top})


def codes(d: document.Document) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in validate(d) if f.severity == "error"}


# --- tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ({"Owner": "backup-team", "Data class": "PII: yes", "cost/centre": "4+2=6@x_y.z-"}, None),
        ({"k" * 128: "v" * 256}, None),
        ({"k" * 129: "v"}, "tags.key.too_long"),
        ({"": "v"}, "tags.key.too_short"),
        ({"Owner": "v" * 257}, "tags.value.too_long"),
        ({"aws:owner": "x"}, "tags.reserved"),
        ({"Owner": "a;b"}, "tags.characters"),
        ({"Own#er": "a"}, "tags.characters"),
        ({f"k{i}": "v" for i in range(51)}, "tags.too_many"),
    ],
)
def test_framework_tags_are_held_to_the_documented_limits(
    tags: dict[str, str], code: str | None
) -> None:
    found = codes(doc({"ControlName": ENCRYPTED}, FrameworkTags=tags))
    assert found == ({("tags", code)} if code else set())


def test_fifty_tags_and_an_empty_value_are_accepted() -> None:
    tags = {f"k{i}": "" for i in range(50)}
    assert codes(doc({"ControlName": ENCRYPTED}, FrameworkTags=tags)) == set()


def test_the_review_hash_is_the_content_hash_without_tags_and_binds_tags_otherwise() -> None:
    content = document.content_hash(doc({"ControlName": ENCRYPTED}))
    assert review_hash(content, None) == content
    tagged = review_hash(content, {"Owner": "a", "Env": "prod"})
    assert tagged != content
    assert tagged == review_hash(content, {"Env": "prod", "Owner": "a"})  # order-blind
    assert tagged != review_hash(content, {"Owner": "b", "Env": "prod"})
    assert review_hash(content, {}) not in (content, tagged)  # "remove every tag" is a proposal


def test_tags_do_not_change_the_content_hash() -> None:
    plain = doc({"ControlName": ENCRYPTED})
    tagged = doc({"ControlName": ENCRYPTED}, FrameworkTags={"Owner": "a"})
    assert document.content_hash(plain) == document.content_hash(tagged)


def test_the_tag_plan_sets_then_removes() -> None:
    plan = tag_plan({"Owner": "a", "Old": "x", "Same": "1"}, {"Owner": "b", "New": "", "Same": "1"})
    assert plan.to_set == {"New": "", "Owner": "b"}
    assert plan.to_remove == ["Old"]
    assert tag_plan({"a": "1"}, {"a": "1"}).empty


def test_tags_on_the_way_accepts_base_halfway_and_wanted_only() -> None:
    base, wanted = {"Owner": "a", "Old": "x"}, {"Owner": "b"}
    assert tags_on_the_way(base, wanted, base)
    assert tags_on_the_way(base, wanted, {"Owner": "b", "Old": "x"})  # TagResource landed
    assert tags_on_the_way(base, wanted, wanted)
    assert not tags_on_the_way(base, wanted, {"Owner": "someone else"})
    assert tags_on_the_way(None, wanted, {"Anything": "1"})


# --- the "" description ----------------------------------------------------------------------


def test_aws_own_answers_with_an_empty_description_validate_and_hash_as_none() -> None:
    reference = Path(__file__).parents[3] / "shared" / "reference" / "aws-backup-frameworks.md"
    text = reference.read_text() if reference.exists() else ""
    answer = {
        "FrameworkName": "test",
        "FrameworkArn": "arn:aws:backup:us-east-1:123456789012:framework:test-f0001b0a",
        "FrameworkDescription": "",
        "FrameworkControls": [
            {"ControlName": ENCRYPTED, "ControlInputParameters": [], "ControlScope": {}}
        ],
        "CreationTime": 1633463605.233,
        "DeploymentStatus": "COMPLETED",
        "FrameworkStatus": "ACTIVE",
    }
    if '"FrameworkDescription": ""' in text:
        assert '"FrameworkDescription": ""' in json.dumps(answer)
    parsed = parse(answer)
    assert validate(parsed) == []
    without = dict(answer)
    del without["FrameworkDescription"]
    assert document.content_hash(parsed) == document.content_hash(parse(without))
    # And the worker never sends it back.
    assert "FrameworkDescription" not in document.update_kwargs(parsed, "test")


def test_a_description_once_set_cannot_be_removed() -> None:
    base = doc({"ControlName": ENCRYPTED}, FrameworkDescription="Vaults")
    for proposed in (
        doc({"ControlName": ENCRYPTED}),
        doc({"ControlName": ENCRYPTED}, FrameworkDescription=""),
    ):
        [finding] = proposal_findings(base, proposed)
        assert (finding.path, finding.code, finding.severity) == (
            "description",
            "description.cannot_remove",
            "error",
        )
        assert "write a new description" in finding.message
    assert (
        proposal_findings(base, doc({"ControlName": ENCRYPTED}, FrameworkDescription="New")) == []
    )
    assert proposal_findings(doc({"ControlName": ENCRYPTED}), doc({"ControlName": ENCRYPTED})) == []


# --- case-insensitive suggestions --------------------------------------------------------------


def test_suggestions_ignore_case() -> None:
    d = doc({"ControlName": PROTECTED, "ControlScope": {"ComplianceResourceTypes": ["s3", "ebs"]}})
    messages = [f.message for f in validate(d) if f.code == "scope.unknown_resource_type"]
    assert any("did you mean S3?" in m for m in messages)
    assert any("did you mean EBS?" in m for m in messages)
    d = doc({"ControlName": ENCRYPTED.lower()})
    [message] = [f.message for f in validate(d) if f.code == "control.unknown"]
    assert message.endswith(f"did you mean {ENCRYPTED}?")
    d = doc(
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredretentiondays", "ParameterValue": "35"}
            ],
        }
    )
    [message] = [f.message for f in validate(d) if f.code == "parameter.unknown"]
    assert "did you mean requiredRetentionDays?" in message


# --- AWS Config recording ----------------------------------------------------------------------


def test_recording_is_read_from_the_config_answers() -> None:
    statuses = [{"name": "default", "recording": True}]
    everything = {"name": "default", "recordingGroup": {"allSupported": True}}
    assert recording_from_config([everything], statuses).records("AWS::EC2::Volume")
    excluding = {
        "name": "default",
        "recordingGroup": {
            "allSupported": False,
            "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Volume"]},
            "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
        },
    }
    recording = recording_from_config([excluding], statuses)
    assert not recording.records("AWS::EC2::Volume")
    assert recording.records("AWS::S3::Bucket")
    only = {
        "name": "default",
        "recordingGroup": {"allSupported": False, "resourceTypes": ["AWS::S3::Bucket"]},
    }
    recording = recording_from_config([only], statuses)
    assert recording.records("AWS::S3::Bucket")
    assert not recording.records("AWS::EC2::Volume")
    # A recorder that is stopped records nothing; so does having none.
    assert recording_from_config([everything], [{"name": "default", "recording": False}]) == (
        document.NOTHING
    )
    assert recording_from_config([], []) == document.NOTHING
    assert Recording.from_json(recording.as_json()) == recording


def test_recording_in_words_names_the_missing_types_and_the_blind_controls() -> None:
    d = doc(
        {"ControlName": PROTECTED, "ControlScope": {"ComplianceResourceTypes": ["EBS", "RDS"]}},
        {"ControlName": ENCRYPTED},
    )
    assert recording_words(d, NO_EBS_RDS, "eu-west-1") == (
        "AWS Config is not recording EBS and RDS in eu-west-1: these controls cannot evaluate "
        "them: “Resources are protected by a backup plan”."
    ) or recording_words(d, NO_EBS_RDS, "eu-west-1").startswith(
        "AWS Config is not recording EBS and RDS in eu-west-1: these controls cannot evaluate them"
    )
    assert recording_words(d, Recording(all_types=True), "eu-west-1") == ""
    only_ebs = doc({"ControlName": PROTECTED, "ControlScope": {"ComplianceResourceTypes": ["EBS"]}})
    assert recording_words(only_ebs, NO_EBS_RDS, "eu-west-1") == (
        "AWS Config is not recording EBS in eu-west-1: none of its controls can evaluate anything."
    )
    assert "not recording anything in eu-west-1" in recording_words(
        d, document.NOTHING, "eu-west-1"
    )


def test_a_control_needing_an_unrecorded_type_is_a_warning_on_that_control() -> None:
    d = doc(
        {"ControlName": ENCRYPTED},
        {"ControlName": PROTECTED, "ControlScope": {"ComplianceResourceTypes": ["EBS", "S3"]}},
    )
    [finding] = recording_findings(d, NO_EBS_RDS, "eu-west-1")
    assert (finding.path, finding.code, finding.severity) == (
        "controls[1]",
        "control.not_recorded",
        "warning",
    )
    assert finding.message.startswith("AWS Config is not recording EBS in eu-west-1")
    assert "AWS::EC2::Volume" in finding.message
    # By tag or for all resources, a protection control needs every resource family.
    by_tag = doc({"ControlName": PROTECTED, "ControlScope": {"Tags": {"env": "prod"}}})
    [finding] = recording_findings(by_tag, NO_EBS_RDS, "eu-west-1")
    assert "EBS and RDS" in finding.message
