"""Scopes, framework tags, unknown members and wrong types: every rule at, below and beyond
its limit."""

from __future__ import annotations

from typing import Any

import pytest

from frameworks.document import (
    Control,
    Document,
    Finding,
    has_errors,
    parse,
    validate,
    validate_data,
)

from .builders import (
    AIR_GAPPED,
    DELETION,
    ENCRYPTED,
    FREQUENCY,
    LAST_POINT,
    PROTECTED,
    RETENTION,
    control,
    errors,
    found,
    framework,
)

ROLE = "arn:aws:iam::111122223333:role/BackupAdmin"


def check(data: Any, **options: Any) -> list[Finding]:
    return validate_data(data, **options)


def errors_of(*controls: dict[str, Any], **members: Any) -> set[tuple[str, str]]:
    return errors(check(framework(*controls, **members)))


def findings_at(path: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.path == path]


# --- scope ----------------------------------------------------------------------------------


def ids(count: int, prefix: str = "vol-") -> list[str]:
    return [f"{prefix}{n:017x}" for n in range(count)]


@pytest.mark.parametrize(
    ("count", "codes"),
    [
        (0, {"scope.resource_ids_empty"}),
        (1, set()),
        (100, set()),
        (101, {"scope.resource_ids.too_many"}),
    ],
)
def test_resource_ids_are_one_to_a_hundred(count: int, codes: set[str]) -> None:
    scope = {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ids(count)}
    findings = check(framework(control(PROTECTED, scope)))
    assert {(f.path, f.code) for f in findings} == {
        ("controls[0].scope.resource_ids", code) for code in codes
    }


def test_the_id_count_message_names_the_limit() -> None:
    scope = {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ids(101)}
    (finding,) = check(framework(control(PROTECTED, scope)))
    assert finding.message == "takes at most 100 resource IDs; it has 101"


@pytest.mark.parametrize(
    ("items", "finding"),
    [
        (["vol-1", ""], ("controls[0].scope.resource_ids[1]", "scope.resource_id_empty", "error")),
        ([" vol-1"], ("controls[0].scope.resource_ids[0]", "scope.whitespace", "error")),
        (["vol-1\n"], ("controls[0].scope.resource_ids[0]", "scope.whitespace", "error")),
        (
            ["vol-1", "vol-1"],
            ("controls[0].scope.resource_ids[1]", "scope.resource_id_duplicate", "warning"),
        ),
    ],
)
def test_each_resource_id_is_checked(items: list[str], finding: tuple[str, str, str]) -> None:
    scope = {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": items}
    assert found(check(framework(control(PROTECTED, scope)))) == {finding}


@pytest.mark.parametrize("types", [None, [], ["EBS", "RDS"]])
def test_resource_ids_need_exactly_one_type(types: list[str] | None) -> None:
    scope: dict[str, Any] = {"ComplianceResourceIds": ["vol-1"]}
    if types is not None:
        scope["ComplianceResourceTypes"] = types
    assert errors_of(control(PROTECTED, scope)) == {
        ("controls[0].scope.resource_types", "scope.resource_needs_one_type")
    }


@pytest.mark.parametrize(
    ("vault", "ok"),
    [
        ("my-vault_1", True),
        ("ab", True),
        ("a" * 50, True),
        ("a", False),
        ("a" * 51, False),
        ("arn:aws:backup:eu-west-1:111122223333:backup-vault:my-vault", False),
        ("my vault", False),
    ],
)
def test_the_vault_control_takes_vault_names(vault: str, ok: bool) -> None:
    scope = {
        "ComplianceResourceTypes": ["AWS::Backup::BackupVault"],
        "ComplianceResourceIds": [vault],
    }
    expected = set() if ok else {("controls[0].scope.resource_ids[0]", "scope.resource_id.pattern")}
    assert errors_of(control(DELETION, scope)) == expected


def test_the_vault_control_refuses_another_resource_type() -> None:
    scope = {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ["my-vault"]}
    findings = check(framework(control(DELETION, scope)))
    assert errors(findings) == {
        ("controls[0].scope.resource_types", "scope.resource_type_not_accepted")
    }


@pytest.mark.parametrize(
    ("types", "finding"),
    [
        (["EBS", "SAP HANA on Amazon EC2"], None),
        (
            ["EBSS"],
            ("controls[0].scope.resource_types[0]", "scope.unknown_resource_type", "warning"),
        ),
        ([""], ("controls[0].scope.resource_types[0]", "scope.resource_type_empty", "error")),
        (["EBS "], ("controls[0].scope.resource_types[0]", "scope.whitespace", "error")),
        (
            ["EBS", "EBS"],
            ("controls[0].scope.resource_types[1]", "scope.resource_type_duplicate", "warning"),
        ),
    ],
)
def test_each_resource_type_is_checked(
    types: list[str], finding: tuple[str, str, str] | None
) -> None:
    findings = check(framework(control(PROTECTED, {"ComplianceResourceTypes": types})))
    assert found(findings) == ({finding} if finding else set())


def test_an_unknown_type_suggests_the_nearest() -> None:
    (finding,) = check(framework(control(PROTECTED, {"ComplianceResourceTypes": ["Dynamodb"]})))
    assert "did you mean DynamoDB?" in finding.message


@pytest.mark.parametrize(
    ("tags", "finding"),
    [
        ({"env": "prod"}, None),
        ({"k" * 128: "v" * 256}, None),
        ({"env": "prod", "team": "a"}, ("scope.tags.too_many", "error")),
        ({"": "prod"}, ("scope.tags.key.too_short", "error")),
        ({"k" * 129: "v"}, ("scope.tags.key.too_long", "error")),
        ({"k": "v" * 257}, ("scope.tags.value.too_long", "error")),
        ({"env": ""}, ("scope.tag_value_empty", "warning")),
    ],
)
def test_a_scope_takes_one_tag(tags: dict[str, str], finding: tuple[str, str] | None) -> None:
    findings = check(framework(control(ENCRYPTED, {"Tags": tags})))
    expected = {("controls[0].scope.tags", *finding)} if finding else set()
    assert found(findings) == expected


def test_scope_tags_in_the_cloudformation_form_are_checked_the_same() -> None:
    scope = {"Tags": [{"Key": "env", "Value": "a"}, {"Key": "team", "Value": "b"}]}
    assert errors_of(control(ENCRYPTED, scope)) == {
        ("controls[0].scope.tags", "scope.tags.too_many")
    }
    scope = {"Tags": [{"Key": "env", "Value": "a"}, {"Key": "env", "Value": "b"}]}
    assert errors_of(control(ENCRYPTED, scope)) == {
        ("controls[0].scope.tags[1]", "tags.duplicate_key")
    }


def test_types_and_a_tag_in_one_scope_is_a_warning() -> None:
    scope = {"ComplianceResourceTypes": ["S3"], "Tags": {"NHSE-Enable-Backup": "True"}}
    assert found(check(framework(control(PROTECTED, scope)))) == {
        ("controls[0].scope", "scope.types_and_tag", "warning")
    }


def test_ids_and_a_tag_in_one_scope_is_a_warning() -> None:
    scope = {
        "ComplianceResourceTypes": ["EBS"],
        "ComplianceResourceIds": ["vol-1"],
        "Tags": {"a": "b"},
    }
    assert found(check(framework(control(PROTECTED, scope)))) == {
        ("controls[0].scope", "scope.ids_and_tag", "warning")
    }


@pytest.mark.parametrize(
    ("name", "scope", "ok"),
    [
        (ENCRYPTED, {"Tags": {"a": "b"}}, True),
        (ENCRYPTED, {"ComplianceResourceTypes": ["EBS"]}, False),
        (ENCRYPTED, {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ["v"]}, False),
        (RETENTION, {"ComplianceResourceTypes": ["EBS"]}, False),
        (FREQUENCY, {"ComplianceResourceTypes": ["EBS"]}, False),
        (FREQUENCY, {"Tags": {"a": "b"}}, True),
        (
            FREQUENCY,
            {
                "ComplianceResourceTypes": ["AWS::Backup::BackupPlan"],
                "ComplianceResourceIds": ["p"],
            },
            True,
        ),
        (AIR_GAPPED, {"Tags": {"a": "b"}}, False),
        (AIR_GAPPED, {"ComplianceResourceTypes": ["EBS"]}, True),
        (PROTECTED, {"ComplianceResourceTypes": ["EBS"]}, True),
        (LAST_POINT, {"Tags": {"a": "b"}}, True),
    ],
)
def test_each_control_accepts_only_its_scope_kinds(
    name: str, scope: dict[str, Any], ok: bool
) -> None:
    expected = set() if ok else {("controls[0].scope", "scope.kind_not_accepted")}
    assert errors_of(control(name, scope)) == expected


def test_the_scope_kind_message_says_what_is_accepted() -> None:
    (finding,) = check(framework(control(ENCRYPTED, {"ComplianceResourceTypes": ["EBS"]})))
    assert finding.message == (
        f"{ENCRYPTED} cannot be scoped by resource types; it accepts a tag or all resources"
    )


# --- framework tags and members -------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ({f"k{n}": "v" for n in range(50)}, None),
        ({f"k{n}": "v" for n in range(51)}, "tags.too_many"),
        ({"": "v"}, "tags.key.too_short"),
        ({"aws:owner": "v"}, "tags.reserved"),
        ({"Name": ""}, None),
    ],
)
def test_framework_tags_follow_aws_tagging_rules(tags: dict[str, str], code: str | None) -> None:
    expected = {("tags", code)} if code else set()
    assert errors_of(control(ENCRYPTED), FrameworkTags=tags) == expected


def test_an_unknown_member_is_an_error_with_a_suggestion() -> None:
    data = framework(control(ENCRYPTED), FrameworkDescripton="typo")
    findings = check(data)
    assert found(findings) == {("FrameworkDescripton", "document.unknown_member", "error")}
    assert findings[0].message.endswith("did you mean 'FrameworkDescription'?")


@pytest.mark.parametrize(
    ("control_data", "path"),
    [
        ({"ControlName": ENCRYPTED, "Scope": {}}, "controls[0].Scope"),
        ({"ControlName": ENCRYPTED, "ControlScope": {"Tag": {}}}, "controls[0].scope.Tag"),
        (
            {
                "ControlName": RETENTION,
                "ControlInputParameters": [
                    {"ParameterName": "requiredRetentionDays", "ParameterValue": "3", "Type": "x"}
                ],
            },
            "controls[0].parameters[0].Type",
        ),
    ],
)
def test_unknown_members_inside_controls_are_errors(
    control_data: dict[str, Any], path: str
) -> None:
    assert (path, "document.unknown_member") in errors(check(framework(control_data)))


def test_describe_framework_members_are_ignored() -> None:
    data = framework(
        control(ENCRYPTED),
        FrameworkArn="arn:aws:backup:eu-west-1:111122223333:framework:test-1",
        CreationTime=1633463605.233,
        DeploymentStatus="COMPLETED",
        FrameworkStatus="ACTIVE",
        IdempotencyToken="token",
        ResponseMetadata={"HTTPStatusCode": 200},
    )
    assert check(data) == []


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (None, ""),
        ([], ""),
        ("framework", ""),
        (3, ""),
        ({"FrameworkName": 5, "FrameworkControls": []}, "name"),
        ({"FrameworkControls": "BACKUP_RECOVERY_POINT_ENCRYPTED"}, "controls"),
        ({"FrameworkControls": ["BACKUP_RECOVERY_POINT_ENCRYPTED"]}, "controls[0]"),
        ({"FrameworkControls": [{"ControlName": ["x"]}]}, "controls[0].name"),
        (
            {"FrameworkControls": [{"ControlName": "x", "ControlInputParameters": {}}]},
            "controls[0].parameters",
        ),
        (
            {
                "FrameworkControls": [
                    {
                        "ControlName": RETENTION,
                        "ControlInputParameters": [
                            {"ParameterName": "requiredRetentionDays", "ParameterValue": 35}
                        ],
                    }
                ]
            },
            "controls[0].parameters[0].value",
        ),
        ({"FrameworkControls": [{"ControlName": "x", "ControlScope": []}]}, "controls[0].scope"),
        (
            {
                "FrameworkControls": [
                    {"ControlName": "x", "ControlScope": {"ComplianceResourceIds": "vol-1"}}
                ]
            },
            "controls[0].scope.resource_ids",
        ),
        (
            {
                "FrameworkControls": [
                    {"ControlName": "x", "ControlScope": {"ComplianceResourceTypes": [1]}}
                ]
            },
            "controls[0].scope.resource_types[0]",
        ),
        (
            {"FrameworkControls": [{"ControlName": "x", "ControlScope": {"Tags": {"a": 1}}}]},
            "controls[0].scope.tags.a",
        ),
        (
            {"FrameworkControls": [{"ControlName": "x", "ControlScope": {"Tags": ["a"]}}]},
            "controls[0].scope.tags[0]",
        ),
        ({"FrameworkControls": [], "FrameworkTags": "Name=x"}, "tags"),
        ({"FrameworkControls": [], "FrameworkDescription": False}, "description"),
    ],
)
def test_wrong_types_are_reported_not_raised(data: Any, path: str) -> None:
    findings = check(data)
    assert found(findings) == {(path, "document.type", "error")}


def test_every_wrong_type_is_reported_at_once() -> None:
    data = {
        "FrameworkName": 1,
        "FrameworkDescription": 2,
        "FrameworkControls": [3, {"ControlName": 4}],
    }
    assert errors(check(data)) == {
        ("name", "document.type"),
        ("description", "document.type"),
        ("controls[0]", "document.type"),
        ("controls[1].name", "document.type"),
    }


def test_the_cloudformation_resource_form_is_read() -> None:
    resource = {
        "Type": "AWS::Backup::Framework",
        "Properties": {
            "FrameworkControls": [control(ENCRYPTED, {"Tags": [{"Key": "env", "Value": "prod"}]})],
            "FrameworkTags": [{"Key": "Name", "Value": "Example"}],
        },
        "DependsOn": "Something",
    }
    assert check(resource) == []
    doc = parse(resource)
    assert doc.tags == {"Name": "Example"}
    assert doc.controls[0].scope is not None
    assert doc.controls[0].scope.tags == {"env": "prod"}


def test_another_cloudformation_resource_is_refused() -> None:
    findings = check({"Type": "AWS::Backup::BackupPlan", "Properties": {}})
    assert found(findings) == {("Type", "document.not_framework", "error")}
    assert found(check({"Type": "AWS::Backup::Framework"})) == {
        ("Properties", "document.type", "error")
    }


def test_validate_sees_the_document_as_written() -> None:
    doc = Document(
        name="x",
        controls=[Control(ENCRYPTED, scope=None), Control(PROTECTED)],
    )
    assert validate(doc) == []
    doc.controls[1].scope = (
        parse(framework(control(PROTECTED, {"ComplianceResourceIds": []}))).controls[0].scope
    )
    assert errors(validate(doc)) == {("controls[1].scope.resource_ids", "scope.resource_ids_empty")}


def test_has_errors_ignores_warnings() -> None:
    warning = Finding("controls[0].scope", "scope.types_and_tag", "warning", "…")
    error = Finding("name", "name.pattern", "error", "…")
    assert not has_errors([])
    assert not has_errors([warning])
    assert has_errors([warning, error])


def test_a_finding_reads_as_a_line() -> None:
    finding = Finding("name", "name.pattern", "error", "must start with a letter")
    assert str(finding) == "name: error: must start with a letter [name.pattern]"
    assert str(Finding("", "document.type", "error", "must be a JSON object")) == (
        "error: must be a JSON object [document.type]"
    )
