"""The editor's forms without a browser or a database: documents into forms and back, and
findings placed next to the fields their paths name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import ValidationError

from frameworks import document
from frameworks.forms.draft import (
    MAX_IMPORT_BYTES,
    ImportForm,
    control_capacity,
    max_fields,
    read_json_document,
)
from frameworks.forms.editor import (
    Editing,
    FrameworkEditor,
    form_differences,
)
from frameworks.forms.widgets import words
from tests.factories import browser_post

DOCUMENTS = json.loads(
    (Path(__file__).parent / "document" / "public_framework_documents.json").read_text()
)


def _data(entry: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in entry.items() if k not in ("source", "notes")}
    data["FrameworkName"] = data.get("FrameworkName") or "generated_by_cloudformation"
    return data


def drawn(data: dict[str, Any], version: int = 3) -> FrameworkEditor:
    return FrameworkEditor.from_document(
        document.parse(data), editing=Editing.of(data["FrameworkName"], data), version=version
    )


def posted_back(data: dict[str, Any]) -> dict[str, Any]:
    """The document after a trip through the page: drawn, posted as a browser would, read."""
    editor = drawn(data)
    again = FrameworkEditor.from_post(browser_post(editor), editing=editor.editing)
    assert again.is_valid(), again.problems()
    return again.api_document()


def one(control: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"FrameworkName": "f", "FrameworkControls": [control], **extra}


def hash_of(data: dict[str, Any]) -> str:
    return document.content_hash(document.parse(data))


@pytest.mark.parametrize("entry", DOCUMENTS, ids=[e["source"][:60] for e in DOCUMENTS])
def test_every_public_document_comes_back_from_the_form_unchanged(entry):
    data = _data(entry)
    assert hash_of(posted_back(data)) == hash_of(data)
    assert form_differences(drawn(data), document.parse(data)) is None


@pytest.mark.parametrize(
    "scope",
    [
        None,
        {},
        {"ComplianceResourceTypes": ["EBS", "RDS"]},
        {"ComplianceResourceTypes": []},
        {"Tags": {"Environment": "prod"}},
        {"Tags": {"Environment": ""}},
        {"ComplianceResourceTypes": ["S3"], "Tags": {"backup": "yes"}},
        {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ["vol-1", "vol-2"]},
        {"ComplianceResourceTypes": ["DynamoDB"], "ComplianceResourceIds": []},
        {"ComplianceResourceTypes": ["NewServiceType"]},
    ],
)
def test_each_kind_of_scope_survives_the_form(scope):
    control: dict[str, Any] = {"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"}
    if scope is not None:
        control["ControlScope"] = scope
    data = one(control)
    assert hash_of(posted_back(data)) == hash_of(data)
    assert document.validate_data(posted_back(data)) == document.validate_data(data)


def test_typed_fields_take_known_parameters_and_raw_rows_the_rest():
    data = one(
        {
            "ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredFrequencyUnit", "ParameterValue": "hours"},
                {"ParameterName": "requiredFrequencyValue", "ParameterValue": "12"},
                {"ParameterName": "requiredFrequencyValue", "ParameterValue": "13"},
                {"ParameterName": "requiredRetentionDays", "ParameterValue": ""},
                {"ParameterName": "madeUp", "ParameterValue": "1"},
            ],
        }
    )
    (row,) = drawn(data).rows()
    assert row["p_requiredFrequencyUnit"].value() == "hours"
    assert row["p_requiredFrequencyValue"].value() == "12"
    assert not row["p_requiredRetentionDays"].value()
    raw = [(r["name"].value(), r["value"].value()) for r in row.raw_rows()]
    assert raw == [("requiredFrequencyValue", "13"), ("requiredRetentionDays", ""), ("madeUp", "1")]
    codes = {f.code for f in document.validate_data(posted_back(data))}
    assert {"parameter.duplicate", "parameter.empty", "parameter.unknown"} <= codes


def test_list_parameters_are_typed_one_item_per_line():
    arns = "arn:aws:iam::111122223333:role/A,arn:aws:iam::111122223333:role/B"
    data = one(
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
            "ControlInputParameters": [
                {"ParameterName": "principalArnList", "ParameterValue": arns}
            ],
        }
    )
    (row,) = drawn(data).rows()
    assert row["p_principalArnList"].value() == arns.replace(",", "\n")
    post = browser_post(drawn(data))
    post["controls-0-p_principalArnList"] = "arn:aws:iam::111122223333:role/A\r\n\r\n  \r\n"
    editor = FrameworkEditor.from_post(post, editing=Editing("f"))
    assert editor.is_valid()
    (control,) = editor.api_document()["FrameworkControls"]
    assert control["ControlInputParameters"] == [
        {"ParameterName": "principalArnList", "ParameterValue": "arn:aws:iam::111122223333:role/A"}
    ]


def test_a_description_typed_in_a_textarea_keeps_its_line_breaks():
    data = {"FrameworkName": "f", "FrameworkDescription": "two\nlines", "FrameworkControls": []}
    post = browser_post(drawn(data))
    assert post["description"] == "two\r\nlines"
    assert posted_back(data)["FrameworkDescription"] == "two\nlines"


def test_switching_the_control_keeps_typed_values_as_name_value_rows():
    data = one(
        {
            "ControlName": "BACKUP_LAST_RECOVERY_POINT_CREATED",
            "ControlInputParameters": [
                {"ParameterName": "recoveryPointAgeValue", "ParameterValue": "5"}
            ],
        }
    )
    post = browser_post(drawn(data))
    post["controls-0-name"] = "BACKUP_RECOVERY_POINT_ENCRYPTED"
    editor = FrameworkEditor.from_post(post, editing=Editing("f"))
    assert editor.is_valid()
    (control,) = editor.api_document()["FrameworkControls"]
    assert control["ControlInputParameters"] == [
        {"ParameterName": "recoveryPointAgeValue", "ParameterValue": "5"}
    ]
    redrawn = drawn(editor.api_document())
    assert [r["name"].value() for r in redrawn.rows()[0].raw_rows()] == ["recoveryPointAgeValue"]


def test_a_chosen_scope_kind_left_blank_is_written_so_the_core_can_point_at_it():
    post = browser_post(drawn(one({"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"})))
    post["controls-0-scope_kind"] = "tag"
    editor = FrameworkEditor.from_post(post, editing=Editing("f"))
    assert editor.is_valid()
    (control,) = editor.api_document()["FrameworkControls"]
    assert control["ControlScope"] == {"Tags": {"": ""}}
    editor.place(document.validate_data(editor.api_document()))
    assert "must not be empty" in editor.rows()[0].feedback["tag_key"][0].message


def test_rows_the_browser_dropped_are_not_in_the_document():
    data = {
        "FrameworkName": "f",
        "FrameworkControls": [
            {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"},
            {"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"},
        ],
    }
    post = browser_post(drawn(data))
    for key in [k for k in post if k.startswith("controls-0-")]:
        del post[key]
    editor = FrameworkEditor.from_post(post, editing=Editing("f"))
    assert editor.is_valid()
    names = [c["ControlName"] for c in editor.api_document()["FrameworkControls"]]
    assert names == ["BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"]


PLACEMENTS = [
    # (control as written, finding code, where it lands: field key on the control row)
    (
        {
            "ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredFrequencyUnit", "ParameterValue": "hours"},
                {"ParameterName": "requiredFrequencyValue", "ParameterValue": "48"},
            ],
            "ControlScope": {"Tags": {"a": "b"}},
        },
        "parameter.out_of_range",
        "p_requiredFrequencyValue",
    ),
    ({"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED_X"}, "control.unknown", "name"),
    (
        {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED", "ControlScope": {"Tags": {"": "v"}}},
        "scope.tags.key.too_short",
        "tag_key",
    ),
    (
        {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED", "ControlScope": {"Tags": {"k": ""}}},
        "scope.tag_value_empty",
        "tag_value",
    ),
    (
        {
            "ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED",
            "ControlScope": {"ComplianceResourceTypes": ["EBS"]},
        },
        "scope.kind_not_accepted",
        "scope_kind",
    ),
    (
        {
            "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
            "ControlScope": {"ComplianceResourceTypes": ["EBSS"]},
        },
        "scope.unknown_resource_type",
        "resource_types",
    ),
    (
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
            "ControlScope": {
                "ComplianceResourceTypes": ["EBS"],
                "ComplianceResourceIds": ["my-vault"],
            },
        },
        "scope.resource_type_not_accepted",
        "resource_type",
    ),
    (
        {
            "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
            "ControlScope": {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": []},
        },
        "scope.resource_ids_empty",
        "resource_ids",
    ),
]


@pytest.mark.parametrize(("control", "code", "field"), PLACEMENTS)
def test_each_finding_lands_next_to_the_field_its_path_names(control, code, field):
    data = one(control)
    editor = drawn(data)
    editor.place(document.validate_data(data))
    (row,) = editor.rows()
    assert code in [f.code for f in row.feedback.get(field, [])], row.feedback


def test_parameter_findings_without_a_typed_field_land_on_their_raw_row():
    data = one(
        {
            "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
            "ControlInputParameters": [
                {"ParameterName": "requiredRetentionDays", "ParameterValue": "35"},
                {"ParameterName": "", "ParameterValue": "orphan"},
                {"ParameterName": "", "ParameterValue": "another"},
            ],
        }
    )
    editor = drawn(data)
    editor.place(document.validate_data(data))
    rows = editor.rows()[0].raw_rows()
    assert [f.code for f in rows[0].feedback["row"]] == ["parameter.unknown"]
    assert [f.code for f in rows[1].feedback["row"]] == ["parameter.name_missing"]
    assert [f.code for f in rows[2].feedback["row"]] == ["parameter.name_missing"]
    typed = one(
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredRetentionDays", "ParameterValue": "35"},
                {"ParameterName": "", "ParameterValue": "orphan"},
            ],
        }
    )
    editor = drawn(typed)
    editor.place(document.validate_data(typed))
    (nameless,) = editor.rows()[0].raw_rows()
    assert [f.code for f in nameless.feedback["row"]] == ["parameter.name_missing"]


def test_framework_level_findings_land_on_the_page_and_the_controls_list():
    data = {"FrameworkName": "f", "FrameworkDescription": "x" * 1025, "FrameworkControls": []}
    editor = drawn(data)
    editor.place(document.validate_data(data))
    assert [f.code for f in editor.main.feedback["description"]] == ["description.too_long"]
    assert [f.code for f in editor.controls_feedback] == ["controls.empty"]
    tags = {**data, "FrameworkTags": {"aws:x": "1"}}
    editor = drawn(tags)
    editor.place(document.validate_data(tags))
    assert "tags.reserved" in [f.code for f in editor.tags_feedback]  # next to the tag rows


def test_messages_name_controls_as_the_rows_are_numbered():
    assert words("also appears in controls[0] and controls[12]") == (
        "also appears in control 1 and control 13"
    )


def _scoped(scope: dict[str, Any]) -> dict[str, Any]:
    return one({"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "ControlScope": scope})


def _parameter(name: str, value: str) -> dict[str, Any]:
    return one(
        {
            "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
            "ControlInputParameters": [{"ParameterName": name, "ParameterValue": value}],
        }
    )


@pytest.mark.parametrize(
    ("data", "shown_as_written"),
    [
        (_scoped({"Tags": {"key": "two\nlines"}}), False),
        (_scoped({"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ["a", " "]}), False),
        (_scoped({"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": ["a\nb"]}), False),
        (_scoped({"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": [" a"]}), True),
        (_scoped({"ComplianceResourceTypes": ["EBS", "EBS"]}), False),
        (_scoped({"ComplianceResourceTypes": ["RDS", "EBS"]}), True),
        (_parameter("crossRegionList", "eu-west-1,,eu-west-2"), True),
        (_parameter("crossRegionList", "eu-west-1, eu-west-2"), True),
        (_parameter("crossRegionList", "eu-west-1\r"), False),
        (_parameter("madeUp", "two\nlines"), False),
        ({"FrameworkName": "f", "FrameworkDescription": "a\rb", "FrameworkControls": []}, False),
        ({"FrameworkName": "f", "FrameworkDescription": "a\nb", "FrameworkControls": []}, True),
        (one({"ControlName": "X", "ControlScope": {"Tags": {"a": "1", "b": "2"}}}), False),
        (
            one(
                {
                    "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
                    "ControlScope": {"ComplianceResourceIds": ["i-1"], "Tags": {"a": "1"}},
                }
            ),
            False,
        ),
        ({"FrameworkName": "f", "FrameworkDescription": "", "FrameworkControls": []}, True),
        ({"FrameworkName": "f", "FrameworkDescription": "a\r\nb", "FrameworkControls": []}, False),
        (one({"ControlName": "X", "Unknown": 1}), False),
        (one({"ControlName": "X", "ControlScope": {"Tags": {"a": "1"}}}), True),
        # What the document core calls the same is the same: AWS answers an empty scope as
        # {}, empty members, and the form writes none.
        (_scoped({}), True),
        (_scoped({"ComplianceResourceTypes": [], "Tags": {}}), True),
        (_scoped({"ComplianceResourceIds": []}), True),
    ],
)
def test_the_page_says_when_the_form_cannot_show_a_document_as_written(data, shown_as_written):
    assert (form_differences(drawn(data), document.parse(data)) is None) is shown_as_written
    # ... exactly when a trip through the page (as a browser posts it) changes the document.
    try:
        again = FrameworkEditor.from_post(browser_post(drawn(data)), editing=Editing("f"))
        survives = again.is_valid() and document.normalise(
            document.parse(again.api_document())
        ) == document.normalise(document.parse(data))
        survives = survives and not document.parse(data).parse_findings  # unknown members
    except document.DocumentError:
        survives = False
    assert survives is shown_as_written


# --- JSON text and files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "not valid JSON"),
        ('{"FrameworkControls": [}', "line 1, column 24"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"FrameworkDescription": "a\\u0000b"}', "NUL"),
        ('{"FrameworkDescription": "\\ud800"}', "surrogate"),
        ("[1, 2]", "JSON object"),
        ('{"FrameworkControls": "none"}', "must be a list"),
        ('{"Type": "AWS::S3::Bucket", "Properties": {}}', "not AWS::Backup::Framework"),
    ],
)
def test_json_that_is_not_a_framework_document_gets_a_clear_error(text, says):
    with pytest.raises(ValidationError) as raised:
        read_json_document(text)
    assert says in " ".join(raised.value.messages)


def test_a_cloudformation_resource_is_read_into_the_api_form():
    resource = {
        "Type": "AWS::Backup::Framework",
        "Properties": {
            "FrameworkControls": [
                {
                    "ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED",
                    "ControlScope": {"Tags": [{"Key": "env", "Value": "prod"}]},
                }
            ]
        },
    }
    data = read_json_document(json.dumps(resource))
    assert data["FrameworkControls"][0]["ControlScope"] == {"Tags": {"env": "prod"}}


def _upload(content: bytes) -> ImportForm:
    upload = SimpleUploadedFile("framework.json", content, content_type="application/json")
    return ImportForm({"version": "1"}, {"file": upload})


def test_an_imported_file_must_be_utf8_json():
    form = _upload('{"FrameworkDescription": "caf\u00e9"}'.encode("latin-1"))
    assert not form.is_valid()
    assert "not UTF-8" in form.errors["file"][0]
    form = _upload(b"\xef\xbb\xbf" + json.dumps(one({"ControlName": "X"})).encode())
    assert form.is_valid(), form.errors
    assert form.cleaned_data["file"]["FrameworkControls"] == [{"ControlName": "X"}]


def test_an_imported_file_has_a_size_limit():
    form = _upload(b" " * (MAX_IMPORT_BYTES + 1))
    assert not form.is_valid()
    assert "far smaller" in form.errors["file"][0]


def test_the_upload_limits_fit_the_largest_framework_the_quotas_allow():
    assert max_fields(50) <= settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    assert control_capacity() >= 50
