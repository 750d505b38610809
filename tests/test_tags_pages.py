"""Framework tags and AWS Config recording on the pages: the framework page, the editor (tag
rows next to the document, warnings), the change page's diff and its FAILED explanation."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from frameworks import document, services
from frameworks.forms.editor import Editing, FrameworkEditor, browser_post
from frameworks.models import ChangeKind, ChangeRequest, Target
from tests.conftest import client_for
from tests.factories import make_live_framework, make_target

pytestmark = pytest.mark.django_db

NO_EBS = document.Recording(all_types=True, excluded=frozenset({"AWS::EC2::Volume"}))
EBS_CONTROL = {
    "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    "ControlScope": {"ComplianceResourceTypes": ["EBS"]},
}


@pytest.fixture
def live():
    target = make_target()
    Target.objects.filter(pk=target.pk).update(config_recording=NO_EBS.as_json())
    return make_live_framework(target, "daily", controls=2, tags={"Owner": "backup-team"})


def form_data(change: ChangeRequest, **changes: Any) -> dict[str, Any]:
    change.refresh_from_db()
    editor = FrameworkEditor.from_document(
        document.parse(change.working_document),
        editing=Editing.of(change.framework_name, change.working_document),
        version=change.version,
        reason=change.reason,
    )
    data = browser_post(editor)
    out = {key: data.getlist(key) if len(data.getlist(key)) > 1 else data[key] for key in data}
    out.update(changes)
    return out


def test_the_framework_page_shows_the_tags_and_what_config_does_not_record(auditor, live):
    live.controls = [*live.controls, EBS_CONTROL]
    live.framework_status = "PARTIALLY_ACTIVE"
    live.save()
    page = client_for(auditor).get(live.get_absolute_url()).content.decode()
    assert "<code>Owner</code></td><td>backup-team</td>" in page
    assert (
        "AWS Config records only some of the resource types this framework&#x27;s controls "
        "evaluate." in page
    )
    assert (
        "AWS Config is not recording EBS in eu-west-1: these controls cannot evaluate them" in page
    )
    assert "this control cannot evaluate them" in page


def test_unknown_tags_are_said_to_be_unknown(auditor, live):
    live.tags = None
    live.save()
    page = client_for(auditor).get(live.get_absolute_url()).content.decode()
    assert "could not be read" in page and "backup:ListTags" in page


def test_the_editor_edits_tags_like_rows_and_the_review_shows_the_change(editor, approver, live):
    draft = services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind=ChangeKind.UPDATE, framework_name=live.name
    )
    assert draft.base_tags == {"Owner": "backup-team"}
    page = client_for(editor).get(reverse("frameworks:change-edit", args=[draft.pk]))
    assert 'aria-label="Tag 1 key" aria-describedby="fb-tags"' in page.content.decode()
    # Change the value of the first tag and type a new one into the empty row.
    data = form_data(
        draft,
        **{"tags-0-value": "compliance", "tags-1-key": "DataClass", "tags-1-value": "PII"},
    )
    response = client_for(editor).post(reverse("frameworks:change-edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.working_document["FrameworkTags"] == {"Owner": "compliance", "DataClass": "PII"}
    assert draft.proposed_tags == {"Owner": "compliance", "DataClass": "PII"}
    assert draft.tags_only
    services.change_request_submit(user=editor, change_id=draft.pk, reason="audit asks")
    page = client_for(approver).get(reverse("frameworks:change-detail", args=[draft.pk]))
    text = page.content.decode()
    assert "Change the framework tag Owner from “backup-team” to “compliance”." in text
    assert "Add the framework tag DataClass = “PII”." in text
    draft.refresh_from_db()
    assert f'value="{draft.review_hash}"' in text  # the approval binds the tags


def test_a_bad_tag_is_shown_next_to_the_tag_rows(editor, live):
    draft = services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind=ChangeKind.UPDATE, framework_name=live.name
    )
    data = form_data(draft, **{"tags-1-key": "aws:owner", "tags-1-value": "x"})
    response = client_for(editor).post(
        reverse("frameworks:change-check", args=[draft.pk]), data, HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert 'id="fb-tags" hx-swap-oob="true"><p class="finding finding-error">' in text
    assert "aws:owner" in text


def test_the_editor_and_the_review_warn_of_a_control_config_does_not_record(editor, approver, live):
    draft = services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind=ChangeKind.UPDATE, framework_name=live.name
    )
    working = dict(draft.working_document)
    working["FrameworkControls"] = [*working["FrameworkControls"], EBS_CONTROL]
    services.change_request_save_draft(
        user=editor, change_id=draft.pk, expected_version=draft.version, document=working
    )
    page = client_for(editor).get(reverse("frameworks:change-edit", args=[draft.pk]))
    assert "AWS Config is not recording EBS in eu-west-1" in page.content.decode()
    services.change_request_submit(user=editor, change_id=draft.pk, reason="cover EBS")
    page = client_for(approver).get(reverse("frameworks:change-detail", args=[draft.pk]))
    assert "AWS Config is not recording EBS in eu-west-1, so" in page.content.decode()


def test_a_failed_deployment_explained_by_recording_is_shown_in_words(editor, live):
    draft = services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind=ChangeKind.UPDATE, framework_name=live.name
    )
    words = "AWS Config is not recording anything in eu-west-1: none of its controls can evaluate"
    ChangeRequest.objects.filter(pk=draft.pk).update(
        state="failed",
        last_error={"code": "DeploymentFailed", "cause": "ConfigNotRecording", "words": words},
    )
    page = client_for(editor).get(reverse("frameworks:change-detail", args=[draft.pk]))
    assert words in page.content.decode()
