"""The 11 AWS Backup Audit Manager controls, as data.

Everything the product knows about a control (its console title, its parameters with their
kinds and ranges, the scope kinds it accepts) lives here, so that the validator, the edit
forms and the framework page read one table instead of each growing its own ``if`` chain.
Source: the AWS Backup Developer Guide pages *controls-and-remediation* and
*choosing-controls*, summarised in ``shared/reference/aws-backup-frameworks.md`` section 5.

When AWS adds a control, add one ``ControlSpec`` below: nothing else needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ParameterKind = Literal["int", "choice", "arn_list", "region_list", "account_list"]

#: Scope kinds: a list of resource types, one tag pair, or named resources (ids + one type).
#: "All resources" (no scope) is accepted by every control, so it is not a kind.
SCOPE_TYPES = "types"
SCOPE_TAG = "tag"
SCOPE_RESOURCE = "resource"
SCOPE_KINDS = frozenset({SCOPE_TYPES, SCOPE_TAG, SCOPE_RESOURCE})

#: Resource type names as GetSupportedResourceTypes returned them when this was written. The
#: list grows, so an unknown name is only a warning.
RESOURCE_TYPES: tuple[str, ...] = (
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "EKS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
)

#: The vault control names a single vault with this type and the vault *name* as id.
BACKUP_VAULT_TYPE = "AWS::Backup::BackupVault"
#: The backup plan control names a single plan; AWS documents the scope, not the type string,
#: so this one is known (no "unknown type" warning) but not enforced.
BACKUP_PLAN_TYPE = "AWS::Backup::BackupPlan"

HOURS = "hours"
DAYS = "days"


@dataclass(frozen=True)
class ParameterSpec:
    """One input parameter of a control. Values always travel as strings.

    ``min_value``/``max_value`` bound an ``int``; when ``unit_parameter`` is set, the bounds
    come from ``unit_ranges`` keyed by that sibling's value (its default when left out).
    ``default`` is what AWS uses when the parameter is left out (``None``: no documented
    default); ``absent`` says in plain words what leaving it out means.
    ``phrase`` describes a value for the framework page: ``{value}`` and ``{unit}`` are filled in.
    """

    name: str
    label: str
    kind: ParameterKind
    help: str
    phrase: str
    absent: str
    choices: tuple[str, ...] = ()
    default: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    unit_parameter: str | None = None
    unit_ranges: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    max_items: int | None = None

    def bounds(self, unit: str | None) -> tuple[int | None, int | None]:
        """The (min, max) for an int parameter, given the unit in force (``None`` = unknown)."""
        if self.unit_parameter and unit in self.unit_ranges:
            return self.unit_ranges[unit]
        return self.min_value, self.max_value


@dataclass(frozen=True)
class ControlSpec:
    """One control: console title, one-line summary, parameters, accepted scope kinds.

    ``resource_scope_types``: when not empty, a single-resource scope must use one of these
    types (the vault control); ``resource_id_label`` names what the ids are.
    """

    name: str
    title: str
    summary: str
    parameters: dict[str, ParameterSpec]
    scope_kinds: frozenset[str]
    resource_scope_types: tuple[str, ...] = ()
    resource_id_label: str = "resource ID"


def _params(*specs: ParameterSpec) -> dict[str, ParameterSpec]:
    return {spec.name: spec for spec in specs}


def _unit(name: str, what: str) -> ParameterSpec:
    return ParameterSpec(
        name=name,
        label=f"{what} unit",
        kind="choice",
        choices=(HOURS, DAYS),
        default=DAYS,
        help=f"Whether the {what.lower()} is counted in hours or days.",
        phrase=f"{what} counted in {{value}}",
        absent=f"AWS counts the {what.lower()} in days",
    )


def _retention(name: str, label: str, phrase: str) -> ParameterSpec:
    return ParameterSpec(
        name=name,
        label=label,
        kind="int",
        default="35",
        min_value=1,
        help="A whole number of days, at least 1.",
        phrase=phrase,
        absent="AWS uses 35 days",
    )


_ALL = frozenset({SCOPE_TYPES, SCOPE_TAG, SCOPE_RESOURCE})

_CONTROLS: tuple[ControlSpec, ...] = (
    ControlSpec(
        name="BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
        title="Backup resources are protected by a backup plan",
        summary="Every resource in scope is assigned to at least one backup plan.",
        parameters=_params(),
        scope_kinds=_ALL,
    ),
    ControlSpec(
        name="BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
        title="Backup plan minimum frequency and minimum retention",
        summary="Backup plans back up at least this often and keep backups at least this long.",
        parameters=_params(
            _unit("requiredFrequencyUnit", "Frequency"),
            ParameterSpec(
                name="requiredFrequencyValue",
                label="Frequency",
                kind="int",
                default="1",
                unit_parameter="requiredFrequencyUnit",
                unit_ranges={HOURS: (1, 24), DAYS: (1, 31)},
                help="1 to 24 when the unit is hours, 1 to 31 when it is days.",
                phrase="Backups at least every {value} {unit}",
                absent="AWS uses 1, that is at least one backup every {unit_one}",
            ),
            _retention(
                "requiredRetentionDays",
                "Retention (days)",
                "Backups kept for at least {value} {unit}",
            ),
        ),
        scope_kinds=frozenset({SCOPE_TAG, SCOPE_RESOURCE}),
        resource_id_label="backup plan ID",
    ),
    ControlSpec(
        name="BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
        title="Vaults prevent manual deletion of recovery points",
        summary="Only the listed IAM roles may delete recovery points by hand.",
        parameters=_params(
            ParameterSpec(
                name="principalArnList",
                label="Roles allowed to delete",
                kind="arn_list",
                max_items=5,
                help="Up to 5 IAM role ARNs, separated by commas. Leave out for none.",
                phrase="Only these may delete recovery points by hand: {value}",
                absent="no role may delete recovery points by hand (AWS's default)",
            ),
        ),
        scope_kinds=frozenset({SCOPE_TAG, SCOPE_RESOURCE}),
        resource_scope_types=(BACKUP_VAULT_TYPE,),
        resource_id_label="backup vault name",
    ),
    ControlSpec(
        name="BACKUP_RECOVERY_POINT_ENCRYPTED",
        title="Recovery points are encrypted",
        summary="Every recovery point in scope is encrypted.",
        parameters=_params(),
        scope_kinds=frozenset({SCOPE_TAG}),
    ),
    ControlSpec(
        name="BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
        title="Minimum retention established for recovery point",
        summary="Every recovery point in scope is kept at least this long.",
        parameters=_params(
            _retention(
                "requiredRetentionDays",
                "Retention (days)",
                "Recovery points kept for at least {value} {unit}",
            ),
        ),
        scope_kinds=frozenset({SCOPE_TAG}),
    ),
    ControlSpec(
        name="BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
        title="Cross-Region backup copy is scheduled",
        summary="Resources in scope have their backups copied to another Region.",
        parameters=_params(
            ParameterSpec(
                name="crossRegionList",
                label="Regions",
                kind="region_list",
                help="Region codes such as eu-west-2, separated by commas.",
                phrase="Backups copied to one of these Regions: {value}",
                absent="a copy to any other Region counts",
            ),
        ),
        scope_kinds=_ALL,
    ),
    ControlSpec(
        name="BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT",
        title="Cross-account backup copy is scheduled",
        summary="Resources in scope have their backups copied to another account.",
        parameters=_params(
            ParameterSpec(
                name="crossAccountList",
                label="Accounts",
                kind="account_list",
                max_items=5,
                help="Up to 5 twelve-digit account IDs in the same AWS Organization, "
                "separated by commas.",
                phrase="Backups copied to one of these accounts: {value}",
                absent="a copy to any other account counts",
            ),
        ),
        scope_kinds=_ALL,
    ),
    ControlSpec(
        name="BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
        title="Backups are protected by AWS Backup Vault Lock",
        summary="Resources in scope are backed up to a locked vault.",
        parameters=_params(
            ParameterSpec(
                name="minRetentionDays",
                label="Minimum lock retention (days)",
                kind="int",
                min_value=1,
                help="A whole number of days, at least 1.",
                phrase="Vault Lock keeps recovery points at least {value} {unit}",
                absent="any minimum retention of the lock counts",
            ),
            ParameterSpec(
                name="maxRetentionDays",
                label="Maximum lock retention (days)",
                kind="int",
                min_value=1,
                help="A whole number of days, at least the minimum.",
                phrase="Vault Lock keeps recovery points at most {value} {unit}",
                absent="any maximum retention of the lock counts",
            ),
        ),
        scope_kinds=_ALL,
    ),
    ControlSpec(
        name="BACKUP_LAST_RECOVERY_POINT_CREATED",
        title="Last recovery point was created",
        summary="Resources in scope have a recovery point no older than this.",
        parameters=_params(
            _unit("recoveryPointAgeUnit", "Age"),
            ParameterSpec(
                name="recoveryPointAgeValue",
                label="Age",
                kind="int",
                default="1",
                unit_parameter="recoveryPointAgeUnit",
                unit_ranges={HOURS: (1, 744), DAYS: (1, 31)},
                help="1 to 744 when the unit is hours, 1 to 31 when it is days.",
                phrase="A recovery point created in the last {value} {unit}",
                absent="AWS uses 1, that is a recovery point from the last {unit_one}",
            ),
        ),
        scope_kinds=_ALL,
    ),
    ControlSpec(
        name="RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
        title="Restore time for resources meet target",
        summary="Restores of resources in scope finish within the target time.",
        parameters=_params(
            ParameterSpec(
                name="maxRestoreTime",
                label="Maximum restore time (minutes)",
                kind="int",
                min_value=1,
                help="A whole number of minutes, at least 1 (AWS's samples use 720).",
                phrase="Restores finish within {value} {unit}",
                absent="AWS applies its own target, which its documentation does not state",
            ),
        ),
        scope_kinds=_ALL,
    ),
    ControlSpec(
        name="RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT",
        title="Resources are in a logically air-gapped vault",
        summary="Resources in scope have a recent recovery point in a logically air-gapped vault.",
        parameters=_params(
            ParameterSpec(
                name="recoveryPointAgeUnit",
                label="Age unit",
                kind="choice",
                choices=(HOURS, DAYS),
                help="Whether the age is counted in hours or days.",
                phrase="Age counted in {value}",
                absent="AWS applies its own unit, which its documentation does not state",
            ),
            ParameterSpec(
                name="recoveryPointAgeValue",
                label="Age",
                kind="int",
                unit_parameter="recoveryPointAgeUnit",
                unit_ranges={HOURS: (24, 2184), DAYS: (1, 91)},
                # With the unit left out the range is unknown: accept the union of both.
                min_value=1,
                max_value=2184,
                help="24 to 2184 when the unit is hours, 1 to 91 when it is days.",
                phrase="A recovery point in an air-gapped vault from the last {value} {unit}",
                absent="AWS applies its own age, which its documentation does not state",
            ),
        ),
        scope_kinds=frozenset({SCOPE_TYPES, SCOPE_RESOURCE}),
    ),
)

#: The catalogue, keyed by the API's ControlName (case-sensitive).
CONTROLS: dict[str, ControlSpec] = {spec.name: spec for spec in _CONTROLS}

#: Parameter units: what a bare number means, for the plain-words descriptions.
VALUE_UNITS: dict[str, str] = {
    "requiredRetentionDays": DAYS,
    "minRetentionDays": DAYS,
    "maxRetentionDays": DAYS,
    "maxRestoreTime": "minutes",
}


# --- what AWS Config must record for each control ------------------------------------------
#
# AWS Backup deploys each control as AWS Config rules, and a Config rule only evaluates the
# resource types the account's configuration recorder records. Read from the AWS Config
# managed-rule pages the controls deploy (each names its "Resource Types"):
#
# * The resource-protection controls deploy one rule per resource family (for example
#   ``ebs-resources-protected-by-backup-plan`` evaluates AWS::EC2::Volume), so they need the
#   families named in the scope's ComplianceResourceTypes, or every family when the scope names
#   no types (all resources, or by tag).
# * The backup plan control evaluates backup plans, the recovery point controls recovery
#   points, the manual deletion control vault access policies (backup vaults).
#
# Backup resource type names without such a rule family (DocumentDB, Neptune, Redshift,
# CloudFormation, Timestream, EKS, SAP HANA) need no recorded type here.

#: Backup resource type name -> the AWS Config resource type its rules evaluate.
CONFIG_TYPES: dict[str, str] = {
    "Aurora": "AWS::RDS::DBCluster",
    "DynamoDB": "AWS::DynamoDB::Table",
    "EBS": "AWS::EC2::Volume",
    "EC2": "AWS::EC2::Instance",
    "EFS": "AWS::EFS::FileSystem",
    "FSx": "AWS::FSx::FileSystem",
    "RDS": "AWS::RDS::DBInstance",
    "S3": "AWS::S3::Bucket",
    "Storage Gateway": "AWS::StorageGateway::Volume",
    "VirtualMachine": "AWS::BackupGateway::VirtualMachine",
}
BACKUP_PLAN_CONFIG_TYPE = "AWS::Backup::BackupPlan"
RECOVERY_POINT_CONFIG_TYPE = "AWS::Backup::RecoveryPoint"
BACKUP_VAULT_CONFIG_TYPE = "AWS::Backup::BackupVault"

#: Config types that control names the resources they evaluate; None: the protected
#: resources, from the scope (see above).
CONTROL_CONFIG_TYPES: dict[str, frozenset[str] | None] = {
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN": None,
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION": None,
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT": None,
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK": None,
    "BACKUP_LAST_RECOVERY_POINT_CREATED": None,
    "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET": None,
    "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT": None,
    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK": frozenset({BACKUP_PLAN_CONFIG_TYPE}),
    "BACKUP_RECOVERY_POINT_ENCRYPTED": frozenset({RECOVERY_POINT_CONFIG_TYPE}),
    "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK": frozenset({RECOVERY_POINT_CONFIG_TYPE}),
    "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED": frozenset({BACKUP_VAULT_CONFIG_TYPE}),
}

#: How a Config resource type is named to people: the Backup name where there is one.
CONFIG_TYPE_WORDS: dict[str, str] = {
    **{config: backup for backup, config in CONFIG_TYPES.items()},
    BACKUP_PLAN_CONFIG_TYPE: "backup plans",
    RECOVERY_POINT_CONFIG_TYPE: "recovery points",
    BACKUP_VAULT_CONFIG_TYPE: "backup vaults",
}


def control_config_types(name: str, resource_types: list[str] | None) -> frozenset[str]:
    """The AWS Config resource types the rules of control ``name`` evaluate, given its
    scope's ComplianceResourceTypes (an unknown control needs nothing we know of)."""
    if name not in CONTROL_CONFIG_TYPES:
        return frozenset()
    fixed = CONTROL_CONFIG_TYPES[name]
    if fixed is not None:
        return fixed
    if not resource_types:
        return frozenset(CONFIG_TYPES.values())
    return frozenset(CONFIG_TYPES[t] for t in resource_types if t in CONFIG_TYPES)
