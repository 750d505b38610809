"""Round trips through the page as rendered (django-webtest parses the HTML and submits the
form exactly as a browser without JavaScript would): every valid public document comes back
with the same content hash, through the form, and through JSON → form → JSON."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from frameworks import document, services
from frameworks.forms.editor import Editing, FrameworkEditor
from frameworks.models import ChangeKind, ChangeRequest
from tests.factories import browser_post, make_target

pytestmark = pytest.mark.django_db

DOCUMENTS = json.loads(
    (Path(__file__).parent / "document" / "public_framework_documents.json").read_text()
)
#: The documents whose notes call them valid: all but the one botocore rejects and the
#: negative example.
VALID = [e for e in DOCUMENTS if not re.search(r"REJECTED|NEGATIVE EXAMPLE", e["notes"])]


def _data(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("source", "notes")}


def hash_of(data: dict[str, Any]) -> str:
    return document.content_hash(document.parse(data))


def test_six_public_documents_are_valid():
    assert len(VALID) == 6
    for entry in VALID:
        assert not document.has_errors(document.validate_data(_data(entry)))


@pytest.fixture
def new_draft(editor):
    target = make_target()

    def make(data: dict[str, Any], name: str = "public") -> ChangeRequest:
        return services.change_request_create_draft(
            user=editor,
            target_id=target.pk,
            kind=ChangeKind.CREATE,
            framework_name=name,
            document=data,
        )

    return make


def edit_url(change: ChangeRequest, name: str = "edit") -> str:
    return reverse(f"frameworks:change-{name}", args=[change.pk])


@pytest.mark.parametrize("entry", VALID, ids=[e["source"][:60] for e in VALID])
def test_a_public_document_saved_from_the_page_as_rendered_keeps_its_hash(
    django_app, editor, new_draft, entry
):
    data = _data(entry)
    change = new_draft(data)
    page = django_app.get(edit_url(change), user=editor.username)
    assert "cannot show this draft exactly" not in page.text
    response = page.forms["editor"].submit()
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.version == 2
    assert hash_of(change.working_document) == hash_of(data)


@pytest.mark.parametrize("entry", DOCUMENTS, ids=[e["source"][:60] for e in DOCUMENTS])
def test_the_page_posts_exactly_what_the_editor_expects_a_browser_to_post(
    django_app, editor, new_draft, entry
):
    """browser_post (which decides whether the form can show a document exactly) matches the
    fields of the page itself."""
    data = _data(entry)
    change = new_draft(data)
    page = django_app.get(edit_url(change), user=editor.username)
    fields = [(k, v) for k, v in page.forms["editor"].submit_fields() if k != "csrfmiddlewaretoken"]
    change.refresh_from_db()
    editor_forms = FrameworkEditor.from_document(
        document.parse(change.working_document),
        editing=Editing.of(change.framework_name, change.working_document),
        version=change.version,
    )
    expected = browser_post(editor_forms)
    simulated = [(k, v) for k in expected for v in expected.getlist(k)]
    # WebTest sends textareas as parsed (LF); a browser sends CRLF, which the fields undo.
    assert Counter((k, v.replace("\r\n", "\n")) for k, v in simulated) == Counter(fields)


@pytest.mark.parametrize("entry", VALID, ids=[e["source"][:60] for e in VALID])
def test_json_to_form_to_json_keeps_the_hash(django_app, editor, new_draft, entry):
    data = _data(entry)
    change = new_draft({"FrameworkControls": []})
    page = django_app.get(edit_url(change, "json"), user=editor.username)
    form = page.forms["json-editor"]
    form["text"] = json.dumps(data)
    form.action = edit_url(change, "to-form")  # the "Edit with the form" button's formaction
    in_the_form = form.submit()
    assert in_the_form.status_code == 200
    assert "not saved yet" in in_the_form.text
    saved = in_the_form.forms["editor"].submit()
    assert saved.status_code == 302
    as_json = django_app.get(edit_url(change, "json"), user=editor.username)
    text = as_json.forms["json-editor"]["text"].value
    assert hash_of(json.loads(text)) == hash_of(data)


def test_a_draft_built_without_javascript_saves_what_was_typed(django_app, editor, new_draft):
    """Add a control, pick it, show its fields, fill them in, save: all with plain POSTs."""
    change = new_draft({"FrameworkControls": []})
    page = django_app.get(edit_url(change), user=editor.username)
    form = page.forms["editor"]
    form.action = edit_url(change, "add-control")
    page = form.submit()
    form = page.forms["editor"]
    form["controls-0-name"] = "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
    form.action = edit_url(change, "control")  # the noscript "Show the fields" button
    page = form.submit()
    form = page.forms["editor"]
    form["controls-0-p_requiredFrequencyUnit"] = "hours"
    form["controls-0-p_requiredFrequencyValue"] = "48"
    form["controls-0-scope_kind"] = "tag"
    form.action = edit_url(change, "control")  # the tag's fields show once the kind is chosen
    page = form.submit()
    form = page.forms["editor"]
    assert form["controls-0-p_requiredFrequencyValue"].value == "48"
    form["controls-0-tag_key"] = "Environment"
    form["controls-0-tag_value"] = "prod"
    assert form.submit().status_code == 302
    page = django_app.get(edit_url(change), user=editor.username)
    assert "must be at most 24 when the unit is hours; it is 48" in page.text
    form = page.forms["editor"]
    form["controls-0-p_requiredFrequencyValue"] = "12"
    form.submit()
    change.refresh_from_db()
    (control,) = change.working_document["FrameworkControls"]
    assert control["ControlScope"] == {"Tags": {"Environment": "prod"}}
    assert {p["ParameterName"]: p["ParameterValue"] for p in control["ControlInputParameters"]} == {
        "requiredFrequencyUnit": "hours",
        "requiredFrequencyValue": "12",
    }
    assert not document.has_errors(document.validate_data(change.working_document))
