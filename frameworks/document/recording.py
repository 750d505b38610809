"""What AWS Config records in an account and Region, and what that means for a framework.

Import from ``frameworks.document``. AWS Backup deploys controls as AWS Config rules, and a rule
only evaluates the resource types Config records: a valid framework can end INACTIVE (and its
deployment FAILED) in an account that records none of what its controls need. ``Recording`` is
read from AWS Config's DescribeConfigurationRecorders and DescribeConfigurationRecorderStatus
answers (``recording_from_config``); the functions below say, in words, which controls cannot
evaluate what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from frameworks.document.catalog import CONFIG_TYPE_WORDS, CONTROLS, control_config_types
from frameworks.document.model import WARNING, Control, Document, Finding


@dataclass(frozen=True)
class Recording:
    """What the account's configuration recorders record: everything (``all_types``), only
    ``types``, or everything except ``excluded``; nothing when no recorder is on."""

    all_types: bool = False
    types: frozenset[str] = field(default_factory=frozenset)
    excluded: frozenset[str] = field(default_factory=frozenset)

    def records(self, config_type: str) -> bool:
        if self.all_types:
            return config_type not in self.excluded
        return config_type in self.types

    def as_json(self) -> dict[str, Any]:
        return {
            "all_types": self.all_types,
            "types": sorted(self.types),
            "excluded": sorted(self.excluded),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        return cls(
            all_types=bool(data.get("all_types")),
            types=frozenset(data.get("types") or ()),
            excluded=frozenset(data.get("excluded") or ()),
        )


NOTHING = Recording()


def recording_from_config(
    recorders: Iterable[Mapping[str, Any]], statuses: Iterable[Mapping[str, Any]]
) -> Recording:
    """Combine every recorder that is turned on (``recording`` true in its status): a
    customer recorder and service-linked ones may coexist, and each adds what it records.

    A recorder's ``recordingGroup``: ``allSupported`` (or the strategy
    ALL_SUPPORTED_RESOURCE_TYPES) records everything, EXCLUSION_BY_RESOURCE_TYPES everything
    but ``exclusionByResourceTypes.resourceTypes``, otherwise only ``resourceTypes``."""
    on = {s.get("name") for s in statuses if s.get("recording")}
    all_types = False
    types: set[str] = set()
    excluded_sets: list[frozenset[str]] = []
    for recorder in recorders:
        if recorder.get("name") not in on:
            continue
        group = recorder.get("recordingGroup") or {}
        strategy = (group.get("recordingStrategy") or {}).get("useOnly", "")
        if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
            all_types = True
            excluded = (group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []
            excluded_sets.append(frozenset(excluded))
        elif group.get("allSupported") or strategy == "ALL_SUPPORTED_RESOURCE_TYPES":
            all_types = True
            excluded_sets.append(frozenset())
        else:
            types.update(group.get("resourceTypes") or ())
    if not all_types:
        return Recording(types=frozenset(types))
    # A type is missing only if every all-types recorder excludes it and no other records it.
    excluded_by_all = frozenset.intersection(*excluded_sets) - types
    return Recording(all_types=True, excluded=excluded_by_all)


def control_needs(control: Control) -> frozenset[str]:
    """The AWS Config resource types a control's rules evaluate."""
    types = control.scope.resource_types if control.scope else None
    return control_config_types(control.name, types)


def unrecorded(control: Control, recording: Recording) -> list[str]:
    """The Config types this control needs that the account does not record, sorted."""
    return sorted(t for t in control_needs(control) if not recording.records(t))


def type_words(config_types: Iterable[str]) -> str:
    """``["AWS::EC2::Volume", "AWS::RDS::DBInstance"]`` -> "EBS and RDS"."""
    names = sorted(CONFIG_TYPE_WORDS.get(t, t) for t in config_types)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _title(control: Control) -> str:
    spec = CONTROLS.get(control.name)
    return spec.title if spec else control.name


def missing_types(doc: Document, recording: Recording) -> list[str]:
    """Every Config type some control of ``doc`` needs and the account does not record."""
    missing: set[str] = set()
    for control in doc.controls:
        missing.update(unrecorded(control, recording))
    return sorted(missing)


def recording_words(doc: Document, recording: Recording, region: str) -> str:
    """One paragraph for the framework page: what AWS Config does not record that this
    framework's controls need ("" when it records all of it)."""
    missing = missing_types(doc, recording)
    if not missing:
        return ""
    blind = [c for c in doc.controls if unrecorded(c, recording)]
    if len(blind) == len(doc.controls) and set(missing) == {
        t for c in doc.controls for t in control_needs(c)
    }:
        effect = "none of its controls can evaluate anything"
    else:
        titles = sorted({f"“{_title(c)}”" for c in blind})
        effect = f"these controls cannot evaluate them: {', '.join(titles)}"
    if recording == NOTHING:
        return f"AWS Config is not recording anything in {region}: {effect}."
    return f"AWS Config is not recording {type_words(missing)} in {region}: {effect}."


#: What each FrameworkStatus means, in words (AWS's own definitions, shortened).
FRAMEWORK_STATUS_WORDS: dict[str, str] = {
    "ACTIVE": "AWS Config records every resource type this framework's controls evaluate.",
    "PARTIALLY_ACTIVE": (
        "AWS Config records only some of the resource types this framework's controls evaluate."
    ),
    "INACTIVE": "AWS Config records none of the resource types this framework's controls evaluate.",
    "UNAVAILABLE": "AWS Backup could not check AWS Config recording for this framework.",
}


def framework_status_words(status: str) -> str:
    """A FrameworkStatus in words, read defensively (unknown values are quoted)."""
    value = (status or "").strip().upper()
    if not value:
        return ""
    return FRAMEWORK_STATUS_WORDS.get(value, f"AWS reports the framework status {status!r}.")


def recording_findings(doc: Document, recording: Recording, region: str) -> list[Finding]:
    """A warning on each control that needs a resource type the account does not record:
    the framework deploys, but that control cannot evaluate those resources."""
    findings = []
    for index, control in enumerate(doc.controls):
        missing = unrecorded(control, recording)
        if not missing:
            continue
        findings.append(
            Finding(
                f"controls[{index}]",
                "control.not_recorded",
                WARNING,
                f"AWS Config is not recording {type_words(missing)} in {region}, so "
                f"“{_title(control)}” cannot evaluate them (turn on recording of "
                f"{', '.join(missing)} in AWS Config)",
            )
        )
    return findings
