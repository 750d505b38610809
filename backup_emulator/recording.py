"""What AWS Config records in each account and Region, and what that means for a framework.

AWS Backup deploys a framework's controls as AWS Config rules, and a rule only evaluates resource
types the account's configuration recorder records. This module holds the emulator's setting per
(account, Region) and derives two things from it:

* the answers of AWS Config's ``DescribeConfigurationRecorders`` and
  ``DescribeConfigurationRecorderStatus`` (see ``configservice.py`` for the wire), and
* a framework's ``FrameworkStatus`` and whether its deployment fails.

The settings (``Recording.mode``):

``all`` (the default for every account and Region)
    one recorder named ``default`` recording all supported resource types.
``include``
    the recorder records only ``resource_types`` (INCLUSION_BY_RESOURCE_TYPES).
``exclude``
    the recorder records everything except ``resource_types`` (EXCLUSION_BY_RESOURCE_TYPES).
``none``
    there is no configuration recorder at all.

Besides the mode, ``recording: false`` models a recorder that exists but is stopped (records
nothing), and ``unavailable: true`` models AWS Backup failing to read the recording status.

The rule for a framework, following the FrameworkStatus documentation in botocore's model
("ACTIVE when recording is turned on for all resources governed by the framework", PARTIALLY_ACTIVE
"for at least one" turned off, INACTIVE "for all", UNAVAILABLE "unable to validate"): the governed
types are the union of the Config resource types every control evaluates
(``rules.governed_resource_types``);

* ``unavailable`` -> UNAVAILABLE (and the deployment is not failed for it);
* every governed type recorded -> ACTIVE;
* some but not all recorded -> PARTIALLY_ACTIVE (the deployment completes: some controls evaluate);
* none recorded -> INACTIVE, and a create or update deployed while it is so ends FAILED, because no
  control can evaluate anything (a real account with Config off shows FAILED + INACTIVE; the
  Terraform docs warn that Config must record before a framework is created).

FrameworkStatus is computed whenever a framework is described, so turning recording on or off later
changes it at once, as AWS re-reads the recorder; the DeploymentStatus of a finished deployment
stays what it was.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("all", "include", "exclude", "none")
CONFIG_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
RECORDER_NAME = "default"
ACTIVE, PARTIALLY_ACTIVE, INACTIVE, UNAVAILABLE = (
    "ACTIVE",
    "PARTIALLY_ACTIVE",
    "INACTIVE",
    "UNAVAILABLE",
)


@dataclass(frozen=True)
class Recording:
    mode: str = "all"
    resource_types: tuple[str, ...] = ()
    recording: bool = True
    unavailable: bool = False
    started: float = field(default=0.0, compare=False)

    def records(self, resource_type: str) -> bool:
        if self.mode == "none" or not self.recording:
            return False
        if self.mode == "include":
            return resource_type in self.resource_types
        if self.mode == "exclude":
            return resource_type not in self.resource_types
        return True

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["resource_types"] = list(self.resource_types)
        del data["started"]
        return data


def make_recording(
    *,
    mode: str = "all",
    resource_types: list[str] | tuple[str, ...] | None = None,
    recording: bool = True,
    unavailable: bool = False,
    started: float = 0.0,
) -> Recording:
    """A checked Recording; ValueError names what is wrong (the control API answers 400)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, not {mode!r}")
    types = tuple(resource_types or ())
    bad = [t for t in types if not isinstance(t, str) or not CONFIG_TYPE.fullmatch(t)]
    if bad:
        raise ValueError(f"resource types must look like AWS::Service::Type: {bad}")
    if mode in ("include", "exclude") and not types:
        raise ValueError(f"mode {mode!r} needs resource_types")
    if mode in ("all", "none") and types:
        raise ValueError(f"mode {mode!r} takes no resource_types")
    return Recording(mode, tuple(sorted(set(types))), bool(recording), bool(unavailable), started)


def parse_spec(spec: str) -> tuple[str, str, Recording]:
    """``ACCOUNT:REGION:SETTING`` from the command line, SETTING one of ``all``, ``none``,
    ``stopped``, ``unavailable``, ``only=TYPE,TYPE`` or ``except=TYPE,TYPE`` (types are
    ``AWS::Service::Type``, whose own colons are why the setting comes last)."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not re.fullmatch(r"[0-9]{12}", parts[0]) or not parts[1]:
        raise ValueError(f"expected ACCOUNT:REGION:SETTING, got {spec!r}")
    account, region, setting = parts
    if setting in ("all", "none"):
        return account, region, make_recording(mode=setting)
    if setting == "stopped":
        return account, region, make_recording(recording=False)
    if setting == "unavailable":
        return account, region, make_recording(unavailable=True)
    kind, _, types = setting.partition("=")
    modes = {"only": "include", "except": "exclude"}
    if kind not in modes:
        raise ValueError(f"unknown recording setting {setting!r} in {spec!r}")
    return account, region, make_recording(mode=modes[kind], resource_types=types.split(","))


def framework_status(recording: Recording, governed: frozenset[str]) -> str:
    """FrameworkStatus of a framework governing these Config types (see the module docstring)."""
    if recording.unavailable:
        return UNAVAILABLE
    recorded = {t for t in governed if recording.records(t)}
    if recorded == set(governed):
        return ACTIVE
    return PARTIALLY_ACTIVE if recorded else INACTIVE


def recorder_arn(account: str, region: str) -> str:
    return f"arn:aws:config:{region}:{account}:configuration-recorder/{RECORDER_NAME}/emulated"


def describe_recorders(recording: Recording, account: str, region: str) -> list[dict[str, Any]]:
    """ConfigurationRecorders as DescribeConfigurationRecorders lists them."""
    if recording.mode == "none":
        return []
    everything = recording.mode == "all"
    group: dict[str, Any] = {
        "allSupported": everything,
        "includeGlobalResourceTypes": everything,
        "resourceTypes": list(recording.resource_types) if recording.mode == "include" else [],
        "exclusionByResourceTypes": {
            "resourceTypes": list(recording.resource_types) if recording.mode == "exclude" else []
        },
        "recordingStrategy": {
            "useOnly": {
                "all": "ALL_SUPPORTED_RESOURCE_TYPES",
                "include": "INCLUSION_BY_RESOURCE_TYPES",
                "exclude": "EXCLUSION_BY_RESOURCE_TYPES",
            }[recording.mode]
        },
    }
    return [
        {
            "arn": recorder_arn(account, region),
            "name": RECORDER_NAME,
            "roleARN": f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/"
            "AWSServiceRoleForConfig",
            "recordingGroup": group,
            "recordingMode": {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []},
        }
    ]


def describe_status(recording: Recording, account: str, region: str) -> list[dict[str, Any]]:
    """ConfigurationRecordersStatus as DescribeConfigurationRecorderStatus lists them."""
    if recording.mode == "none":
        return []
    status: dict[str, Any] = {
        "arn": recorder_arn(account, region),
        "name": RECORDER_NAME,
        "lastStartTime": recording.started,
        "recording": recording.recording,
        # AWS answers upper case (its CLI examples show "SUCCESS"), although the model's enum
        # spells the values Pending/Success/Failure.
        "lastStatus": "SUCCESS",
        "lastStatusChangeTime": recording.started,
    }
    if not recording.recording:
        status["lastStopTime"] = recording.started
    return [status]
