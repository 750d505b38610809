"""Every rule of the validator at, below and beyond its limit."""

from __future__ import annotations

from typing import Any

import pytest

from frameworks.document import (
    Finding,
    validate_data,
)

from .builders import (
    AIR_GAPPED,
    CROSS_ACCOUNT,
    CROSS_REGION,
    DELETION,
    ENCRYPTED,
    FREQUENCY,
    LAST_POINT,
    PROTECTED,
    RESTORE_TIME,
    RETENTION,
    VAULT_LOCK,
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


# --- name -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("a", None),
        ("a" * 256, None),
        ("Daily_backups_2", None),
        ("", "name.too_short"),
        ("a" * 257, "name.too_long"),
        ("enterprise-audit-framework", "name.pattern"),
        ("2fast", "name.pattern"),
        ("_private", "name.pattern"),
        ("has space", "name.pattern"),
        ("trailing_newline\n", "name.pattern"),
    ],
)
def test_the_name_follows_the_model(name: str, code: str | None) -> None:
    expected = {("name", code)} if code else set()
    assert errors_of(control(ENCRYPTED), FrameworkName=name) == expected


def test_a_missing_name_is_fine_for_import_but_not_for_create() -> None:
    data = {"FrameworkControls": [control(ENCRYPTED)]}
    assert errors(check(data)) == set()
    assert errors(check(data, require_name=True)) == {("name", "name.required")}


def test_the_name_message_says_what_is_allowed() -> None:
    (finding,) = findings_at("name", check(framework(control(ENCRYPTED), FrameworkName="a-b")))
    assert finding.message == (
        "must start with a letter and contain only letters, digits and underscores "
        "(no hyphens or spaces)"
    )
    (finding,) = findings_at("name", check(framework(control(ENCRYPTED), FrameworkName="a" * 300)))
    assert finding.message == "must be at most 256 characters; it has 300"


# --- description ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "code"),
    [
        (None, None),
        ("x", None),
        ("x" * 1024, None),
        ("two\nlines", None),
        ("x" * 1025, "description.too_long"),
        # AWS's own answers hold "" for "no description": it reads as none.
        ("", None),
        ("   ", "description.pattern"),
        ("\n\t", "description.pattern"),
    ],
)
def test_the_description_has_a_length_and_is_not_blank(
    description: str | None, code: str | None
) -> None:
    expected = {("description", code)} if code else set()
    assert errors_of(control(ENCRYPTED), FrameworkDescription=description) == expected


def test_the_description_counts_characters_as_aws_does() -> None:
    # An emoji is one character in Python but two UTF-16 code units for AWS.
    assert errors_of(control(ENCRYPTED), FrameworkDescription="😀" * 512) == set()
    assert errors_of(control(ENCRYPTED), FrameworkDescription="😀" * 513) == {
        ("description", "description.too_long")
    }


# --- controls -------------------------------------------------------------------------------


def test_a_framework_needs_at_least_one_control() -> None:
    assert errors_of() == {("controls", "controls.empty")}
    assert errors(check({"FrameworkName": "x"})) == {("controls", "controls.empty")}
    assert errors_of(control(ENCRYPTED)) == set()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "control.name.too_short"),
        ("X" * 257, "control.name.too_long"),
        ("X" * 256, "control.unknown"),
        ("backup_recovery_point_encrypted", "control.unknown"),
        ("BACKUP_RECOVERY_POINTS_ENCRYPTED", "control.unknown"),
    ],
)
def test_the_control_name_is_one_of_the_catalogue(name: str, code: str) -> None:
    assert errors_of(control(name)) == {("controls[0].name", code)}


def test_an_unknown_control_name_suggests_the_nearest() -> None:
    (finding,) = check(framework(control("backup_recovery_point_encrypted")))
    assert finding.message == (
        "'backup_recovery_point_encrypted' is not one of the 11 AWS Backup controls; "
        "did you mean BACKUP_RECOVERY_POINT_ENCRYPTED?"
    )


def test_every_catalogue_control_passes_with_no_scope_and_an_empty_scope() -> None:
    from frameworks.document.catalog import CONTROLS

    for name in CONTROLS:
        assert errors_of(control(name)) == set(), name
        assert errors_of(control(name, {})) == set(), name
        assert errors_of(control(name, {"ComplianceResourceTypes": [], "Tags": {}})) == set(), name


def test_the_same_control_twice_with_the_same_scope_is_an_error() -> None:
    findings = check(framework(control(ENCRYPTED), control(ENCRYPTED, {})))
    assert found(findings) == {("controls[1]", "control.duplicate", "error")}
    assert findings[0].message.startswith(f"{ENCRYPTED} is already in controls[0]")


def test_the_same_control_twice_with_other_scopes_is_a_warning() -> None:
    findings = check(
        framework(
            control(ENCRYPTED, {"Tags": {"env": "prod"}}),
            control(ENCRYPTED, {"Tags": {"env": "dev"}}),
        )
    )
    assert found(findings) == {("controls[1]", "control.repeated", "warning")}


def test_duplicates_compare_scopes_order_blind() -> None:
    first = {"ComplianceResourceTypes": ["EBS", "RDS"]}
    second = {"ComplianceResourceTypes": ["RDS", "EBS"]}
    assert errors_of(control(PROTECTED, first), control(PROTECTED, second)) == {
        ("controls[1]", "control.duplicate")
    }


# --- parameters -----------------------------------------------------------------------------


def test_an_unknown_parameter_is_an_error_that_names_the_real_ones() -> None:
    findings = check(framework(control(RETENTION, requiredRetentionDay="35")))
    path = "controls[0].parameters.requiredRetentionDay"
    assert (path, "parameter.unknown") in errors(findings)
    message = findings_at(path, findings)[0].message
    assert message == (
        f"requiredRetentionDay is not a parameter of {RETENTION}; it takes "
        "requiredRetentionDays (did you mean requiredRetentionDays?)"
    )


def test_a_parameter_on_a_control_that_takes_none_is_an_error() -> None:
    findings = check(framework(control(ENCRYPTED, resourceType="ALL")))
    assert found(findings) == {
        ("controls[0].parameters.resourceType", "parameter.unknown", "error")
    }
    assert (
        findings[0].message == f"resourceType is not a parameter of {ENCRYPTED}, which takes none"
    )


def test_a_parameter_given_twice_is_an_error() -> None:
    data = framework(
        {
            "ControlName": RETENTION,
            "ControlInputParameters": [
                {"ParameterName": "requiredRetentionDays", "ParameterValue": "35"},
                {"ParameterName": "requiredRetentionDays", "ParameterValue": "40"},
            ],
        }
    )
    assert found(check(data)) == {
        ("controls[0].parameters.requiredRetentionDays", "parameter.duplicate", "error")
    }


def test_a_parameter_without_a_name_or_value_is_named() -> None:
    data = framework(
        {
            "ControlName": RETENTION,
            "ControlInputParameters": [{"ParameterValue": "35"}, {"ParameterName": "x"}],
        }
    )
    assert errors(check(data)) == {
        ("controls[0].parameters[0]", "parameter.name_missing"),
        ("controls[0].parameters.x", "parameter.unknown"),
    }
    data = framework(
        {
            "ControlName": RETENTION,
            "ControlInputParameters": [{"ParameterName": "requiredRetentionDays"}],
        }
    )
    assert errors(check(data)) == {
        ("controls[0].parameters.requiredRetentionDays", "parameter.empty")
    }


def test_an_empty_value_is_refused_and_the_message_says_to_leave_it_out() -> None:
    (finding,) = check(framework(control(DELETION, principalArnList="")))
    assert finding.code == "parameter.empty"
    assert finding.message == (
        "has an empty value, which AWS refuses; leave the parameter out instead "
        "(no role may delete recovery points by hand (AWS's default))"
    )


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        ({"requiredFrequencyUnit": "hours", "requiredFrequencyValue": "1"}, None),
        ({"requiredFrequencyUnit": "hours", "requiredFrequencyValue": "24"}, None),
        (
            {"requiredFrequencyUnit": "hours", "requiredFrequencyValue": "25"},
            "parameter.out_of_range",
        ),
        (
            {"requiredFrequencyUnit": "hours", "requiredFrequencyValue": "0"},
            "parameter.out_of_range",
        ),
        ({"requiredFrequencyUnit": "days", "requiredFrequencyValue": "31"}, None),
        (
            {"requiredFrequencyUnit": "days", "requiredFrequencyValue": "32"},
            "parameter.out_of_range",
        ),
        ({"requiredFrequencyValue": "31"}, None),
        ({"requiredFrequencyValue": "32"}, "parameter.out_of_range"),
        ({"requiredFrequencyValue": "-1"}, "parameter.not_integer"),
        ({"requiredFrequencyValue": "1.5"}, "parameter.not_integer"),
        ({"requiredFrequencyValue": "twelve"}, "parameter.not_integer"),
        ({"requiredFrequencyValue": " 12"}, "parameter.whitespace"),
        ({"requiredFrequencyValue": "012"}, None),
    ],
)
def test_the_frequency_range_depends_on_the_unit(
    parameters: dict[str, str], code: str | None
) -> None:
    expected = {("controls[0].parameters.requiredFrequencyValue", code)} if code else set()
    assert errors_of(control(FREQUENCY, {"Tags": {"a": "b"}}, **parameters)) == expected


def test_the_range_message_names_the_limit_and_the_unit() -> None:
    findings = check(
        framework(
            control(FREQUENCY, requiredFrequencyUnit="hours", requiredFrequencyValue="25"),
            control(LAST_POINT, recoveryPointAgeValue="40"),
            control(RETENTION, requiredRetentionDays="0"),
        )
    )
    messages = {f.path: f.message for f in findings if f.severity == "error"}
    assert messages == {
        "controls[0].parameters.requiredFrequencyValue": (
            "must be at most 24 when the unit is hours; it is 25"
        ),
        "controls[1].parameters.recoveryPointAgeValue": (
            "must be at most 31 when the unit is days; it is 40"
        ),
        "controls[2].parameters.requiredRetentionDays": "must be at least 1; it is 0",
    }


@pytest.mark.parametrize(
    ("name", "unit", "value", "ok"),
    [
        (LAST_POINT, "hours", "1", True),
        (LAST_POINT, "hours", "744", True),
        (LAST_POINT, "hours", "745", False),
        (LAST_POINT, "days", "31", True),
        (LAST_POINT, "days", "32", False),
        (LAST_POINT, "days", "0", False),
        (AIR_GAPPED, "hours", "23", False),
        (AIR_GAPPED, "hours", "24", True),
        (AIR_GAPPED, "hours", "2184", True),
        (AIR_GAPPED, "hours", "2185", False),
        (AIR_GAPPED, "days", "0", False),
        (AIR_GAPPED, "days", "1", True),
        (AIR_GAPPED, "days", "91", True),
        (AIR_GAPPED, "days", "92", False),
        (AIR_GAPPED, None, "2184", True),
        (AIR_GAPPED, None, "2185", False),
    ],
)
def test_recovery_point_ages_follow_the_unit(
    name: str, unit: str | None, value: str, ok: bool
) -> None:
    parameters = {"recoveryPointAgeValue": value}
    if unit:
        parameters["recoveryPointAgeUnit"] = unit
    expected = (
        set()
        if ok
        else {("controls[0].parameters.recoveryPointAgeValue", "parameter.out_of_range")}
    )
    assert errors_of(control(name, **parameters)) == expected


@pytest.mark.parametrize("unit", ["HOURS", "Days", "weeks", " hours"])
def test_a_unit_is_hours_or_days(unit: str) -> None:
    findings = check(framework(control(LAST_POINT, recoveryPointAgeUnit=unit)))
    path = "controls[0].parameters.recoveryPointAgeUnit"
    code = "parameter.whitespace" if unit != unit.strip() else "parameter.not_a_choice"
    assert errors(findings) == {(path, code)}


@pytest.mark.parametrize(
    ("parameter", "value", "ok"),
    [
        ("requiredRetentionDays", "1", True),
        ("requiredRetentionDays", "0", False),
        ("requiredRetentionDays", "36500", True),
    ],
)
def test_retention_days_are_positive(parameter: str, value: str, ok: bool) -> None:
    expected = set() if ok else {(f"controls[0].parameters.{parameter}", "parameter.out_of_range")}
    assert errors_of(control(RETENTION, **{parameter: value})) == expected


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("720", True), ("0", False)])
def test_restore_time_is_positive(value: str, ok: bool) -> None:
    expected = (
        set() if ok else {("controls[0].parameters.maxRestoreTime", "parameter.out_of_range")}
    )
    assert errors_of(control(RESTORE_TIME, maxRestoreTime=value)) == expected


@pytest.mark.parametrize(
    ("low", "high", "ok"),
    [("7", "365", True), ("7", "7", True), ("8", "7", False), ("0", "7", False)],
)
def test_vault_lock_maximum_is_at_least_the_minimum(low: str, high: str, ok: bool) -> None:
    result = errors_of(control(VAULT_LOCK, minRetentionDays=low, maxRetentionDays=high))
    if ok:
        assert result == set()
    elif low == "0":
        assert result == {("controls[0].parameters.minRetentionDays", "parameter.out_of_range")}
    else:
        assert result == {("controls[0].parameters.maxRetentionDays", "parameter.below_minimum")}


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        (ROLE, set()),
        (",".join(f"{ROLE}{n}" for n in range(5)), set()),
        (",".join(f"{ROLE}{n}" for n in range(6)), {"parameter.too_many_items"}),
        (f"{ROLE}1, {ROLE}2", {"parameter.whitespace"}),
        (f"{ROLE}1,,{ROLE}2", {"parameter.list_item_empty"}),
        (f"{ROLE}1,", {"parameter.list_item_empty"}),
        ("arn:aws:s3:::bucket", {"parameter.bad_arn"}),
        ("BackupAdmin", {"parameter.bad_arn"}),
        ("arn:aws:iam::1234:role/x", {"parameter.bad_arn"}),
        ("arn:aws-us-gov:iam::111122223333:role/path/x", set()),
        ("arn:aws:iam::111122223333:user/alice", set()),
    ],
)
def test_principal_arns_are_checked_item_by_item(value: str, codes: set[str]) -> None:
    findings = check(framework(control(DELETION, principalArnList=value)))
    assert {f.code for f in findings if f.severity == "error"} == codes
    assert all(f.path == "controls[0].parameters.principalArnList" for f in findings)


def test_a_repeated_list_item_is_a_warning() -> None:
    findings = check(framework(control(DELETION, principalArnList=f"{ROLE},{ROLE}")))
    assert found(findings) == {
        ("controls[0].parameters.principalArnList", "parameter.list_duplicate", "warning")
    }


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("eu-west-2", set()),
        ("eu-west-2,us-gov-west-1,ap-southeast-3,cn-north-1", set()),
        ("eu-west", {"parameter.bad_region"}),
        ("EU-WEST-2", {"parameter.bad_region"}),
        ("eu-west-2 ", {"parameter.whitespace"}),
        ("Europe (London)", {"parameter.bad_region"}),
    ],
)
def test_regions_are_region_codes(value: str, codes: set[str]) -> None:
    findings = check(framework(control(CROSS_REGION, crossRegionList=value)))
    assert {f.code for f in findings if f.severity == "error"} == codes


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("111122223333", set()),
        (",".join(["111122223333"] * 1 + [f"11112222333{n}" for n in range(4)]), set()),
        (",".join(f"11112222333{n}" for n in range(6)), {"parameter.too_many_items"}),
        ("11112222333", {"parameter.bad_account"}),
        ("1111-2222-3333", {"parameter.bad_account"}),
        ("111122223333,\t444455556666", {"parameter.whitespace"}),
    ],
)
def test_accounts_are_twelve_digits_up_to_five(value: str, codes: set[str]) -> None:
    findings = check(framework(control(CROSS_ACCOUNT, crossAccountList=value)))
    assert {f.code for f in findings if f.severity == "error"} == codes


def test_a_parameter_left_to_the_default_is_a_warning_saying_the_default() -> None:
    findings = check(framework(control(FREQUENCY, requiredFrequencyUnit="hours")))
    assert found(findings) == {
        ("controls[0].parameters.requiredFrequencyValue", "parameter.default", "warning"),
        ("controls[0].parameters.requiredRetentionDays", "parameter.default", "warning"),
    }
    messages = {f.path.rsplit(".", 1)[1]: f.message for f in findings}
    assert messages == {
        "requiredFrequencyValue": "not set: AWS uses 1, that is at least one backup every hour",
        "requiredRetentionDays": "not set: AWS uses 35 days",
    }
