"""Small builders for framework JSON in the API form, and a compact view of findings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from frameworks.document import Document, Finding, update_kwargs


def control(name: str, scope: dict[str, Any] | None = None, **parameters: str) -> dict[str, Any]:
    """One FrameworkControls item; keyword arguments become ControlInputParameters."""
    item: dict[str, Any] = {"ControlName": name}
    if parameters:
        item["ControlInputParameters"] = [
            {"ParameterName": key, "ParameterValue": value} for key, value in parameters.items()
        ]
    if scope is not None:
        item["ControlScope"] = scope
    return item


def framework(*controls: dict[str, Any], **members: Any) -> dict[str, Any]:
    """A framework in the API form; members are FrameworkName=..., FrameworkDescription=..."""
    data: dict[str, Any] = {"FrameworkName": "test_framework"}
    data.update(members)
    data["FrameworkControls"] = list(controls)
    return data


def create_arguments(doc: Document) -> dict[str, Any]:
    """What the worker sends to CreateFramework for `doc`: the update's arguments and the tags."""
    out = update_kwargs(doc, doc.name or "")
    if doc.tags is not None:
        out["FrameworkTags"] = dict(doc.tags)
    return out


def found(findings: Iterable[Finding]) -> set[tuple[str, str, str]]:
    """Findings as (path, code, severity), ignoring the wording."""
    return {(f.path, f.code, f.severity) for f in findings}


def errors(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in findings if f.severity == "error"}


def warnings(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in findings if f.severity == "warning"}


ENCRYPTED = "BACKUP_RECOVERY_POINT_ENCRYPTED"
PROTECTED = "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"
FREQUENCY = "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
DELETION = "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"
RETENTION = "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"
CROSS_REGION = "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION"
CROSS_ACCOUNT = "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT"
VAULT_LOCK = "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK"
LAST_POINT = "BACKUP_LAST_RECOVERY_POINT_CREATED"
RESTORE_TIME = "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"
AIR_GAPPED = "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"
