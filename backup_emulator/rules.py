"""The service-side checks of AWS Backup's framework API, as this emulator reads the documentation.

Two kinds of check, because AWS has two:

* ``validate_framework_input`` is what the API answers *synchronously* with
  ``MissingParameterValueException`` or ``InvalidParameterValueException``: the input limits the
  API reference documents (name pattern and length, description, at least one control, control
  names from the catalogue, one tag pair per scope, 1-100 resource ids).
* ``deployment_problems`` is what only shows up *later*, when the controls are deployed as AWS
  Config rules: parameter names a control does not take, values out of the documented ranges (some
  ranges depend on a unit parameter), scope kinds a control does not support. AWS accepts such a
  framework and its DeploymentStatus ends ``FAILED``.

Choices made where public sources do not say what AWS does (the product must be safe either way):

* An unknown parameter name is accepted and the deployment FAILS (not a synchronous error).
* The same ParameterName twice in one control is accepted and the deployment FAILS.
* The same control twice in one framework is accepted (and deployed) if its parameters are valid.
* A scope kind the catalogue does not list for a control (e.g. a tag scope on
  RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT) is accepted and the deployment FAILS; resource types
  together with a tag are accepted (a production module deploys that); ComplianceResourceIds without
  ComplianceResourceTypes FAILS.
* Resource type names are not checked (the list grows, and the model types them as ARNs).
* A blank FrameworkDescription (including ``""``) is rejected when given, following the model's
  pattern ``.*\\S.*`` (its ``min: 0`` is only the length bound; the pattern still applies to a
  given value); on UpdateFramework an omitted description keeps the current one, so a
  description once set can be replaced but never removed. DescribeFramework answers ``""`` for a
  framework created without one, as real answers show.
* A control parameter given without a value (no ParameterValue, or ``""``) is refused at once with
  InvalidParameterValueException: no control takes an empty value, and a framework AWS would only
  fail to deploy later is worse for a caller than an answer now. A whitespace-only value still
  passes here and fails the deployment.
* Two frameworks with the same controls: AlreadyExistsException worded as AWS words it,
  "Controls in framework <the new or updated framework> from account <account> already exist.";
  a name already taken stays "Framework <name> already exists.".
* UpdateFramework without FrameworkControls is rejected like CreateFramework (update replaces the
  whole list, and the docs say every framework has at least one control).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

NAME_PATTERN = re.compile(r"[a-zA-Z][_a-zA-Z0-9]*")
BLANK = re.compile(r"\s*")
INTEGER = re.compile(r"[0-9]+")
REGION_CODE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+")

# Error names the model defines (botocore service-2.json for backup 2018-11-15), plus the two that
# every AWS endpoint can answer. The HTTP status is 400 unless listed: the model's error shapes
# carry no status; AWS answers ServiceUnavailableException with 500, AccessDeniedException 403.
MODEL_ERRORS = (
    "AlreadyExistsException",
    "ConflictException",
    "DependencyFailureException",
    "InvalidParameterValueException",
    "InvalidRequestException",
    "InvalidResourceStateException",
    "LimitExceededException",
    "MissingParameterValueException",
    "ResourceNotFoundException",
    "ServiceUnavailableException",
)
COMMON_ERRORS = ("ThrottlingException", "AccessDeniedException")
# What every AWS endpoint answers about credentials before it looks at the request (JSON
# protocols); STS words the same failures differently, see ``sts.QUERY_CODES``.
EXPIRED_TOKEN = "ExpiredTokenException"  # noqa: S105 (an error code, not a secret)
UNRECOGNIZED_CLIENT = "UnrecognizedClientException"
EXPIRED_MESSAGE = "The security token included in the request is expired"
UNRECOGNIZED_MESSAGE = "The security token included in the request is invalid."
INJECTABLE_ERRORS = MODEL_ERRORS + COMMON_ERRORS
ERROR_STATUS = {
    "ServiceUnavailableException": 500,
    "AccessDeniedException": 403,
    "MissingAuthenticationTokenException": 403,
    "ExpiredTokenException": 403,
    "UnrecognizedClientException": 403,
    # STS (Query protocol) codes
    "AccessDenied": 403,
    "InvalidClientTokenId": 403,
    "MissingAuthenticationToken": 403,
    "ExpiredToken": 400,
    "ServiceUnavailable": 503,
    "UnknownOperationException": 404,
}
DEFAULT_MESSAGES = {
    "ServiceUnavailableException": "The request failed due to a temporary failure of the server.",
    "ThrottlingException": "Rate exceeded",
    "AccessDeniedException": "User is not authorized to perform this action",
    "ConflictException": "A previous action on this framework is still in progress.",
    "LimitExceededException": "A limit in the request has been exceeded.",
}


def error_status(code: str) -> int:
    """HTTP status AWS uses for an error code (400 unless the code is one of the exceptions)."""
    return ERROR_STATUS.get(code, 400)


class ApiError(Exception):
    """An error answer of the API: its code, message and the extra members of its error shape."""

    def __init__(self, code: str, message: str, **members: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.members = members

    @property
    def status(self) -> int:
        return error_status(self.code)

    def body(self) -> dict[str, Any]:
        """The JSON body: Code/Message/__type plus the shape's members (Type, Context, Arn...)."""
        kind = "Server" if self.status >= 500 else "User"
        return {
            "Code": self.code,
            "Message": self.message,
            "__type": self.code,
            "Type": kind,
            "Context": "",
            **self.members,
        }


def invalid(message: str, context: str = "") -> ApiError:
    return ApiError("InvalidParameterValueException", message, Context=context)


def missing(message: str, context: str = "") -> ApiError:
    return ApiError("MissingParameterValueException", message, Context=context)


# --- the catalogue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One input parameter of a control: 'int' (positive), 'unit', 'list', or a value check."""

    kind: str
    max_items: int = 0  # for comma-separated lists; 0 = no documented limit
    item: re.Pattern[str] | None = None


@dataclass(frozen=True)
class UnitRange:
    """A value parameter whose range depends on a unit parameter (hours/days)."""

    value: str
    unit: str
    default_unit: str
    ranges: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Control:
    params: dict[str, Param]
    scopes: frozenset[str]  # of "types", "tag", "resource"; an empty scope is always allowed
    unit_range: UnitRange | None = None


ALL_SCOPES = frozenset({"types", "tag", "resource"})
_INT = Param("int")
_UNIT = Param("unit")
_HOURS_DAYS = {"hours", "days"}

CATALOGUE: dict[str, Control] = {
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN": Control({}, ALL_SCOPES),
    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK": Control(
        {
            "requiredFrequencyUnit": _UNIT,
            "requiredFrequencyValue": _INT,
            "requiredRetentionDays": _INT,
        },
        frozenset({"tag", "resource"}),
        UnitRange(
            "requiredFrequencyValue",
            "requiredFrequencyUnit",
            "days",
            {"hours": (1, 24), "days": (1, 31)},
        ),
    ),
    "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED": Control(
        {"principalArnList": Param("list", max_items=5, item=ROLE_ARN)},
        frozenset({"tag", "resource"}),
    ),
    "BACKUP_RECOVERY_POINT_ENCRYPTED": Control({}, frozenset({"tag"})),
    "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK": Control(
        {"requiredRetentionDays": _INT}, frozenset({"tag"})
    ),
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION": Control(
        {"crossRegionList": Param("list", item=REGION_CODE)}, ALL_SCOPES
    ),
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT": Control(
        {"crossAccountList": Param("list", max_items=5, item=ACCOUNT_ID)}, ALL_SCOPES
    ),
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK": Control(
        {"minRetentionDays": _INT, "maxRetentionDays": _INT}, ALL_SCOPES
    ),
    "BACKUP_LAST_RECOVERY_POINT_CREATED": Control(
        {"recoveryPointAgeUnit": _UNIT, "recoveryPointAgeValue": _INT},
        ALL_SCOPES,
        UnitRange(
            "recoveryPointAgeValue",
            "recoveryPointAgeUnit",
            "days",
            {"hours": (1, 744), "days": (1, 31)},
        ),
    ),
    "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET": Control({"maxRestoreTime": _INT}, ALL_SCOPES),
    "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT": Control(
        {"recoveryPointAgeUnit": _UNIT, "recoveryPointAgeValue": _INT},
        frozenset({"types", "resource"}),
        UnitRange(
            "recoveryPointAgeValue",
            "recoveryPointAgeUnit",
            "days",
            {"hours": (24, 2184), "days": (1, 91)},
        ),
    ),
}


# --- synchronous input checks ------------------------------------------------------------------


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> None:
    """Reject a member of the wrong JSON type, as AWS's deserializer does."""
    if not isinstance(value, kind):
        raise ApiError("SerializationException", f"Unexpected value type for {where}")


def validate_name(name: Any) -> str:
    if name is None or name == "":
        raise missing("FrameworkName is required.", "FrameworkName")
    _expect(name, str, "FrameworkName")
    if len(name) > 256 or not NAME_PATTERN.fullmatch(name):
        raise invalid(
            "FrameworkName must be 1 to 256 characters, start with a letter and contain only "
            "letters, numbers and underscores.",
            name[:256],
        )
    return name


def validate_framework_input(body: dict[str, Any], *, creating: bool) -> None:
    """Raise the ApiError AWS answers at once for input outside the documented limits."""
    if creating:
        validate_name(body.get("FrameworkName"))
    description = body.get("FrameworkDescription")
    if description is not None:
        _expect(description, str, "FrameworkDescription")
        if len(description) > 1024:
            raise invalid(
                "FrameworkDescription must be at most 1024 characters.", "FrameworkDescription"
            )
        if BLANK.fullmatch(description):
            raise invalid("FrameworkDescription must not be blank.", "FrameworkDescription")
    tags = body.get("FrameworkTags")
    if tags is not None:
        validate_tags(tags, "FrameworkTags")
    controls = body.get("FrameworkControls")
    if controls is None or controls == []:
        raise missing("A framework must contain at least one control.", "FrameworkControls")
    _expect(controls, list, "FrameworkControls")
    for index, control in enumerate(controls):
        _validate_control(control, f"FrameworkControls[{index}]")


def _validate_control(control: Any, where: str) -> None:
    _expect(control, dict, where)
    name = control.get("ControlName")
    if name is None or name == "":
        raise missing("ControlName is required.", f"{where}.ControlName")
    _expect(name, str, f"{where}.ControlName")
    if name not in CATALOGUE:
        raise invalid(f"Invalid control name: {name}", f"{where}.ControlName")
    params = control.get("ControlInputParameters")
    if params is not None:
        _expect(params, list, f"{where}.ControlInputParameters")
        for i, param in enumerate(params):
            _expect(param, dict, f"{where}.ControlInputParameters[{i}]")
            for member in ("ParameterName", "ParameterValue"):
                if param.get(member) is not None:
                    _expect(param[member], str, f"{where}.ControlInputParameters[{i}].{member}")
            if not param.get("ParameterValue"):
                pname = param.get("ParameterName") or ""
                raise invalid(
                    f"Control {name}: parameter {pname!r} has no value; "
                    "every ControlInputParameter needs a ParameterValue.",
                    f"{where}.ControlInputParameters[{i}].ParameterValue",
                )
    scope = control.get("ControlScope")
    if scope is None:
        return
    _expect(scope, dict, f"{where}.ControlScope")
    tags = scope.get("Tags")
    if tags is not None:
        _expect(tags, dict, f"{where}.ControlScope.Tags")
        if len(tags) > 1:
            raise invalid("A control scope can have at most one tag key-value pair.", f"{where}")
    types = scope.get("ComplianceResourceTypes")
    if types is not None:
        _expect(types, list, f"{where}.ControlScope.ComplianceResourceTypes")
    ids = scope.get("ComplianceResourceIds")
    if ids is not None:
        _expect(ids, list, f"{where}.ControlScope.ComplianceResourceIds")
        if not 1 <= len(ids) <= 100:
            raise invalid("ComplianceResourceIds must contain 1 to 100 resource IDs.", where)


# --- what the deployment of Config rules would reject ------------------------------------------


def deployment_problems(controls: list[dict[str, Any]]) -> list[str]:
    """Why deploying these (validated) controls as Config rules would fail; [] if it works."""
    problems: list[str] = []
    for index, control in enumerate(controls):
        name = control["ControlName"]
        spec = CATALOGUE[name]
        where = f"control {index + 1} ({name})"
        values: dict[str, str] = {}
        for param in control.get("ControlInputParameters") or []:
            pname = param.get("ParameterName") or ""
            value = param.get("ParameterValue")
            if pname not in spec.params:
                problems.append(f"{where}: unknown parameter {pname!r}")
                continue
            if pname in values:
                problems.append(f"{where}: parameter {pname!r} given twice")
                continue
            values[pname] = value if value is not None else ""
            problems.extend(_param_problems(where, pname, values[pname], spec.params[pname]))
        problems.extend(_range_problems(where, spec, values))
        problems.extend(_scope_problems(where, spec, control.get("ControlScope") or {}))
    return problems


def _param_problems(where: str, name: str, value: str, spec: Param) -> list[str]:
    if spec.kind == "int" and (not INTEGER.fullmatch(value) or int(value) < 1):
        return [f"{where}: {name} must be a positive integer, got {value!r}"]
    if spec.kind == "unit" and value not in _HOURS_DAYS:
        return [f"{where}: {name} must be 'hours' or 'days', got {value!r}"]
    if spec.kind == "list":
        items = [item.strip() for item in value.split(",")]
        if value.strip() == "":
            return [f"{where}: {name} must not be empty"]
        if spec.max_items and len(items) > spec.max_items:
            return [f"{where}: {name} takes at most {spec.max_items} items"]
        bad = [item for item in items if spec.item and not spec.item.fullmatch(item)]
        if bad:
            return [f"{where}: {name} has invalid items {bad}"]
    return []


def _range_problems(where: str, spec: Control, values: dict[str, str]) -> list[str]:
    rng = spec.unit_range
    if rng is not None and rng.value in values and INTEGER.fullmatch(values[rng.value]):
        unit = values.get(rng.unit, rng.default_unit)
        if unit in rng.ranges:
            low, high = rng.ranges[unit]
            if not low <= int(values[rng.value]) <= high:
                return [f"{where}: {rng.value} must be {low}-{high} {unit}"]
    low_s, high_s = values.get("minRetentionDays"), values.get("maxRetentionDays")
    both = low_s and high_s and INTEGER.fullmatch(low_s) and INTEGER.fullmatch(high_s)
    if both and int(high_s) < int(low_s):  # type: ignore[arg-type]
        return [f"{where}: maxRetentionDays must not be less than minRetentionDays"]
    return []


def scope_kinds(scope: dict[str, Any]) -> set[str]:
    """The kinds a ControlScope uses: {} for all resources, else of types/tag/resource."""
    kinds = set()
    if scope.get("Tags"):
        kinds.add("tag")
    if scope.get("ComplianceResourceIds"):
        kinds.add("resource")
    elif scope.get("ComplianceResourceTypes"):
        kinds.add("types")
    return kinds


def _scope_problems(where: str, spec: Control, scope: dict[str, Any]) -> list[str]:
    if scope.get("ComplianceResourceIds") and not scope.get("ComplianceResourceTypes"):
        return [f"{where}: ComplianceResourceIds needs ComplianceResourceTypes"]
    unsupported = scope_kinds(scope) - spec.scopes
    if unsupported:
        return [f"{where}: scope by {', '.join(sorted(unsupported))} is not supported"]
    return []


def controls_signature(controls: list[dict[str, Any]]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """What makes two frameworks 'the same' for AlreadyExistsException: the multiset of
    (ControlName, set of parameters); scopes do not count."""
    items = []
    for control in controls:
        params = {
            (p.get("ParameterName") or "", p.get("ParameterValue") or "")
            for p in control.get("ControlInputParameters") or []
        }
        items.append((control["ControlName"], tuple(sorted(params))))
    return tuple(sorted(items))


# --- tags (TagResource, UntagResource, ListTags, FrameworkTags) ---------------------------------

# AWS Backup's tagging limits (Developer Guide, "Quotas" and the tagging page; the same as the
# AWS-wide tag rules): keys 1-128 characters, values 0-256, at most 50 tags per resource, letters,
# digits, spaces and ``_ . : / = + - @``; keys beginning ``aws:`` (any case) are AWS's own.
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_PUNCTUATION = frozenset("_.:/=+-@")
RESOURCE_ARN = re.compile(r"(arn:aws[a-z-]*:[a-z-\d]+:).+")  # the model's pattern for ARN
FRAMEWORK_ARN = re.compile(
    r"arn:aws[a-z-]*:backup:(?P<region>[^:]*):(?P<account>[^:]*):framework:(?P<name>.+)"
    r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
BACKUP_ARN = re.compile(r"arn:aws[a-z-]*:backup:(?P<region>[^:]*):(?P<account>[0-9]{12}):.+")


def _tag_text_ok(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in TAG_PUNCTUATION for c in text)


def validate_tag_key(key: Any, where: str) -> str:
    _expect(key, str, where)
    if not 1 <= len(key) <= MAX_TAG_KEY:
        raise invalid(
            f"Tag keys must be 1 to {MAX_TAG_KEY} characters: {key[:MAX_TAG_KEY]!r}", where
        )
    if key.lower().startswith("aws:"):
        raise invalid(f"Tag keys starting with 'aws:' are reserved for AWS use: {key!r}", where)
    if not _tag_text_ok(key):
        raise invalid(
            f"Tag key {key!r} may contain only letters, numbers, spaces and _ . : / = + - @",
            where,
        )
    return key


def validate_tags(tags: Any, where: str) -> dict[str, str]:
    """A Tags map as AWS Backup checks it (one tag at a time, then the count)."""
    _expect(tags, dict, where)
    for key, value in tags.items():
        validate_tag_key(key, where)
        _expect(value, str, f"{where}[{key}]")
        if len(value) > MAX_TAG_VALUE:
            raise invalid(f"The value of tag {key!r} is over {MAX_TAG_VALUE} characters.", where)
        if not _tag_text_ok(value):
            raise invalid(
                f"The value of tag {key!r} may contain only letters, numbers, spaces and "
                "_ . : / = + - @",
                where,
            )
    if len(tags) > MAX_TAGS:
        raise ApiError(
            "LimitExceededException",
            f"A resource can have at most {MAX_TAGS} tags; {len(tags)} were given.",
            Context=where,
        )
    return tags


# --- which AWS Config resource types each control evaluates -----------------------------------
#
# AWS Backup deploys each control as AWS Config rules, and a Config rule only evaluates resource
# types the account's configuration recorder records. The mapping below is read from the AWS
# Config managed-rule pages the controls deploy (each page names its "Resource Types"):
#
# * The resource-protection controls (protected by a backup plan, cross-Region copy, cross-account
#   copy, vault lock, last recovery point created, restore time, logically air-gapped vault) deploy
#   one rule per resource family, e.g. ``ebs-resources-protected-by-backup-plan`` evaluates
#   ``AWS::EC2::Volume`` and takes the ``crossRegionList``, ``crossAccountList``,
#   ``minRetentionDays``/``maxRetentionDays`` and ``backupVaultLockCheck`` parameters. So these
#   controls evaluate the resources themselves, of the scope's ComplianceResourceTypes, or of every
#   family when the scope names no types (by tag, or empty). That includes the vault-lock control:
#   it checks that *resources* are backed up into a locked vault, not the vaults.
# * BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK -> ``backup-plan-min-frequency-and-min-
#   retention-check``: AWS::Backup::BackupPlan.
# * BACKUP_RECOVERY_POINT_ENCRYPTED and BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK ->
#   ``backup-recovery-point-encrypted`` / ``-minimum-retention-check``: AWS::Backup::RecoveryPoint
#   (the recovery points of whatever resources are backed up).
# * BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED -> ``backup-recovery-point-manual-deletion-
#   disabled``, which evaluates vault access policies: AWS::Backup::BackupVault.
#
# Backup resource type names without such a Config rule family (DocumentDB, Neptune, Redshift,
# CloudFormation, Timestream, EKS, SAP HANA) govern no recorded type here.
RESOURCE_FAMILIES: dict[str, str] = {
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
CONTROL_RESOURCE_TYPES: dict[str, frozenset[str] | None] = {
    # None: the protected resources, taken from the scope (see above)
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN": None,
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION": None,
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT": None,
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK": None,
    "BACKUP_LAST_RECOVERY_POINT_CREATED": None,
    "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET": None,
    "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT": None,
    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK": frozenset({"AWS::Backup::BackupPlan"}),
    "BACKUP_RECOVERY_POINT_ENCRYPTED": frozenset({"AWS::Backup::RecoveryPoint"}),
    "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK": frozenset({"AWS::Backup::RecoveryPoint"}),
    "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED": frozenset({"AWS::Backup::BackupVault"}),
}


def control_resource_types(control: dict[str, Any]) -> frozenset[str]:
    """The AWS Config resource types one control's rules evaluate."""
    fixed = CONTROL_RESOURCE_TYPES[control["ControlName"]]
    if fixed is not None:
        return fixed
    named = (control.get("ControlScope") or {}).get("ComplianceResourceTypes") or []
    if not named:
        return frozenset(RESOURCE_FAMILIES.values())
    return frozenset(RESOURCE_FAMILIES[t] for t in named if t in RESOURCE_FAMILIES)


def governed_resource_types(controls: list[dict[str, Any]]) -> frozenset[str]:
    """Every AWS Config resource type a framework's controls evaluate."""
    types: frozenset[str] = frozenset()
    for control in controls:
        types |= control_resource_types(control)
    return types


# --- ListFrameworks paging -----------------------------------------------------------------------


def encode_next_token(account: str, region: str, after: str) -> str:
    raw = json.dumps([account, region, after]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next_token(token: Any, account: str, region: str) -> str | None:
    """The name a NextToken continues after; tokens of another account/Region are invalid."""
    if token is None:
        return None
    try:
        padded = str(token) + "=" * (-len(str(token)) % 4)
        token_account, token_region, after = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error):
        raise invalid("The NextToken is not valid.", "NextToken") from None
    if (token_account, token_region) != (account, region) or not isinstance(after, str):
        raise invalid("The NextToken is not valid.", "NextToken")
    return after
