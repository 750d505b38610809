"""The catalogue holds the 11 controls of the reference, as data the rest of the code reads."""

from __future__ import annotations

import pytest

from frameworks.document.catalog import (
    BACKUP_VAULT_TYPE,
    CONTROLS,
    DAYS,
    HOURS,
    RESOURCE_TYPES,
    SCOPE_KINDS,
    SCOPE_RESOURCE,
    SCOPE_TAG,
    SCOPE_TYPES,
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
)

ALL_KINDS = {SCOPE_TYPES, SCOPE_TAG, SCOPE_RESOURCE}


def test_it_holds_the_eleven_controls_of_the_reference() -> None:
    assert set(CONTROLS) == {
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
    }


@pytest.mark.parametrize(
    ("name", "parameters", "kinds"),
    [
        (PROTECTED, set(), ALL_KINDS),
        (
            FREQUENCY,
            {"requiredFrequencyUnit", "requiredFrequencyValue", "requiredRetentionDays"},
            {SCOPE_TAG, SCOPE_RESOURCE},
        ),
        (DELETION, {"principalArnList"}, {SCOPE_TAG, SCOPE_RESOURCE}),
        (ENCRYPTED, set(), {SCOPE_TAG}),
        (RETENTION, {"requiredRetentionDays"}, {SCOPE_TAG}),
        (CROSS_REGION, {"crossRegionList"}, ALL_KINDS),
        (CROSS_ACCOUNT, {"crossAccountList"}, ALL_KINDS),
        (VAULT_LOCK, {"minRetentionDays", "maxRetentionDays"}, ALL_KINDS),
        (LAST_POINT, {"recoveryPointAgeUnit", "recoveryPointAgeValue"}, ALL_KINDS),
        (RESTORE_TIME, {"maxRestoreTime"}, ALL_KINDS),
        (
            AIR_GAPPED,
            {"recoveryPointAgeUnit", "recoveryPointAgeValue"},
            {SCOPE_TYPES, SCOPE_RESOURCE},
        ),
    ],
)
def test_each_control_has_its_parameters_and_scope_kinds(
    name: str, parameters: set[str], kinds: set[str]
) -> None:
    spec = CONTROLS[name]
    assert spec.name == name
    assert set(spec.parameters) == parameters
    assert spec.scope_kinds == kinds
    assert spec.title and spec.summary
    assert "\n" not in spec.summary


def test_parameter_specs_are_consistent() -> None:
    for spec in CONTROLS.values():
        assert spec.scope_kinds <= SCOPE_KINDS
        for name, parameter in spec.parameters.items():
            assert parameter.name == name
            assert parameter.kind in {"int", "choice", "arn_list", "region_list", "account_list"}
            assert parameter.label and parameter.help and parameter.phrase and parameter.absent
            if parameter.kind == "choice":
                assert parameter.choices
                assert parameter.default in (None, *parameter.choices)
            if parameter.unit_parameter:
                unit = spec.parameters[parameter.unit_parameter]
                assert set(parameter.unit_ranges) == set(unit.choices)


@pytest.mark.parametrize(
    ("control", "parameter", "unit", "bounds"),
    [
        (FREQUENCY, "requiredFrequencyValue", HOURS, (1, 24)),
        (FREQUENCY, "requiredFrequencyValue", DAYS, (1, 31)),
        (LAST_POINT, "recoveryPointAgeValue", HOURS, (1, 744)),
        (LAST_POINT, "recoveryPointAgeValue", DAYS, (1, 31)),
        (AIR_GAPPED, "recoveryPointAgeValue", HOURS, (24, 2184)),
        (AIR_GAPPED, "recoveryPointAgeValue", DAYS, (1, 91)),
        (FREQUENCY, "requiredRetentionDays", None, (1, None)),
        (RESTORE_TIME, "maxRestoreTime", None, (1, None)),
    ],
)
def test_ranges_follow_the_unit(
    control: str, parameter: str, unit: str | None, bounds: tuple[int, int | None]
) -> None:
    assert CONTROLS[control].parameters[parameter].bounds(unit) == bounds


def test_defaults_are_what_aws_documents() -> None:
    frequency = CONTROLS[FREQUENCY].parameters
    assert frequency["requiredFrequencyUnit"].default == DAYS
    assert frequency["requiredFrequencyValue"].default == "1"
    assert frequency["requiredRetentionDays"].default == "35"
    assert CONTROLS[RETENTION].parameters["requiredRetentionDays"].default == "35"
    assert CONTROLS[DELETION].parameters["principalArnList"].max_items == 5
    assert CONTROLS[CROSS_ACCOUNT].parameters["crossAccountList"].max_items == 5


def test_the_vault_control_names_vaults_by_type_and_name() -> None:
    assert CONTROLS[DELETION].resource_scope_types == (BACKUP_VAULT_TYPE,)
    assert CONTROLS[DELETION].resource_id_label == "backup vault name"


def test_resource_type_names_are_the_supported_ones() -> None:
    assert len(RESOURCE_TYPES) == 17
    assert {"EBS", "RDS", "S3", "SAP HANA on Amazon EC2", "VirtualMachine"} <= set(RESOURCE_TYPES)
