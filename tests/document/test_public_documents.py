"""Framework documents written by others in public, each with the verdict its notes give.

The fixture is a copy of ``shared/reference/public-framework-documents.json``; ``source`` and
``notes`` are the fixture's own members and are dropped before validating.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from frameworks.document import has_errors, parse, validate_data

from .builders import create_arguments, found

DOCUMENTS = json.loads((Path(__file__).parent / "public_framework_documents.json").read_text())

DEFAULT = "parameter.default"

#: source (prefix) → exactly the findings (path, code, severity) the notes call for.
VERDICTS: dict[str, set[tuple[str, str, str]]] = {
    # Valid; the vault control is deployed without exempt roles, which AWS's default means.
    "hashicorp/terraform-provider-aws:website/docs": {
        ("controls[4].parameters.principalArnList", DEFAULT, "warning"),
    },
    "hashicorp/terraform-provider-aws:internal/service/backup/framework_test.go "
    "(testAccFrameworkConfig_controls)": {
        ("controls[4].parameters.principalArnList", DEFAULT, "warning"),
    },
    "hashicorp/terraform-provider-aws:internal/service/backup/framework_test.go "
    "(testAccFrameworkConfig_controlScopeComplianceResourceID)": set(),
    # Valid, 10 controls, no name: several parameters left to AWS's defaults.
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/bam-cfn-integration.html": {
        ("controls[2].parameters.principalArnList", DEFAULT, "warning"),
        ("controls[7].parameters.minRetentionDays", DEFAULT, "warning"),
        ("controls[7].parameters.maxRetentionDays", DEFAULT, "warning"),
        ("controls[8].parameters.recoveryPointAgeUnit", DEFAULT, "warning"),
        ("controls[8].parameters.recoveryPointAgeValue", DEFAULT, "warning"),
    },
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-frameworks-api.html "
    "(Control2)": set(),
    # Rejected: an empty ComplianceResourceIds list.
    "https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-frameworks-api.html "
    "(Control10)": {
        ("controls[0].scope.resource_ids", "scope.resource_ids_empty", "error"),
    },
    # Valid, but two scopes combine types and a tag (undocumented, deployed in production).
    "NHSDigital/terraform-aws-backup": {
        ("controls[3].scope", "scope.types_and_tag", "warning"),
        ("controls[4].scope", "scope.types_and_tag", "warning"),
    },
    # Negative example: hyphens in the name, made-up parameters, a duplicate control, and an
    # hourly frequency that relies on the default value.
    "lgallard/terraform-aws-backup": {
        ("name", "name.pattern", "error"),
        ("controls[0].parameters.requiredRetentionDays", "parameter.unknown", "error"),
        ("controls[2].parameters.resourceType", "parameter.unknown", "error"),
        ("controls[3].parameters.resourceType", "parameter.unknown", "error"),
        ("controls[3]", "control.duplicate", "error"),
        ("controls[4].parameters.requiredFrequencyValue", DEFAULT, "warning"),
        ("controls[4].parameters.requiredRetentionDays", DEFAULT, "warning"),
    },
}


def _verdict(source: str) -> set[tuple[str, str, str]]:
    matches = [verdict for prefix, verdict in VERDICTS.items() if source.startswith(prefix)]
    assert len(matches) == 1, source
    return matches[0]


def _document(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key not in ("source", "notes")}


CASES = [pytest.param(_document(e), _verdict(e["source"]), id=e["source"][:70]) for e in DOCUMENTS]


def test_every_public_document_has_a_verdict() -> None:
    assert len(DOCUMENTS) == len(VERDICTS) == 8


@pytest.mark.parametrize(("data", "verdict"), CASES)
def test_each_public_document_gets_the_verdict_of_its_notes(
    data: dict[str, Any], verdict: set[tuple[str, str, str]]
) -> None:
    assert found(validate_data(data)) == verdict


def _cloudformation(data: dict[str, Any]) -> dict[str, Any]:
    """The same document as a CloudFormation resource, tags as [{Key, Value}] lists."""
    properties: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    controls = []
    for item in data["FrameworkControls"]:
        item = dict(item)
        scope = dict(item.get("ControlScope") or {})
        if "Tags" in scope:
            scope["Tags"] = [{"Key": k, "Value": v} for k, v in scope["Tags"].items()]
            item["ControlScope"] = scope
        controls.append(item)
    properties["FrameworkControls"] = controls
    return {"Type": "AWS::Backup::Framework", "Properties": properties}


@pytest.mark.parametrize(("data", "verdict"), CASES)
def test_the_cloudformation_form_gets_the_same_verdict(
    data: dict[str, Any], verdict: set[tuple[str, str, str]]
) -> None:
    resource = _cloudformation(data)
    assert found(validate_data(resource)) == verdict
    assert parse(resource) == parse(data)


@pytest.mark.parametrize(("data", "verdict"), CASES)
def test_botocore_agrees_wherever_it_checks(
    data: dict[str, Any], verdict: set[tuple[str, str, str]]
) -> None:
    """botocore refuses only Control10 (empty id list); every document we accept passes it."""
    shape = (
        botocore.session.get_session()
        .get_service_model("backup")
        .operation_model("CreateFramework")
        .input_shape
    )
    doc = parse(data)
    if doc.name is None:
        doc.name = "generated_by_cloudformation"
    report = ParamValidator().validate(create_arguments(doc), shape)
    if any(code == "scope.resource_ids_empty" for _, code, _ in verdict):
        assert report.has_errors()
    if not has_errors(validate_data(data)):
        assert not report.has_errors(), report.generate_report()


def test_control10_is_valid_once_the_empty_list_is_dropped() -> None:
    (entry,) = [e for e in DOCUMENTS if e["FrameworkName"] == "Control10"]
    data = _document(entry)
    del data["FrameworkControls"][0]["ControlScope"]["ComplianceResourceIds"]
    assert validate_data(data) == []


def test_the_cloudformation_sample_needs_a_name_only_to_be_created() -> None:
    (entry,) = [e for e in DOCUMENTS if e["FrameworkName"] is None]
    data = _document(entry)
    assert not has_errors(validate_data(data))
    assert ("name", "name.required", "error") in found(validate_data(data, require_name=True))
