"""The editor's views with the Django test client: each view for each role, htmx fragments,
saving, optimistic locking, JSON mode, import, and the pinned query counts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from frameworks import document, services
from frameworks.forms.draft import control_capacity
from frameworks.forms.editor import Editing, FrameworkEditor
from frameworks.models import ChangeKind, ChangeRequest, ChangeState, Event, HistoryEvent
from tests.conftest import client_for
from tests.factories import browser_post, history_appends, make_live_framework, make_target

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
EDITORS = {"editor", "admin_user"}


def refusal_for(role: str) -> int:
    """What a non-editor is answered: 403 to one who may see the target, and to someone with
    no role on it the 404 of a framework or change that does not exist."""
    return 404 if role == "outsider" else 403


@pytest.fixture
def live():
    target = make_target()
    return make_live_framework(target, "daily", controls=3)


@pytest.fixture
def new_target():
    return make_target("dev-eu")


@pytest.fixture
def draft(editor, live) -> ChangeRequest:
    return services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind=ChangeKind.UPDATE, framework_name=live.name
    )


def url(name: str, change: ChangeRequest | int) -> str:
    return reverse(f"frameworks:change-{name}", args=[getattr(change, "pk", change)])


def form_data(change: ChangeRequest, **changes: Any) -> dict[str, Any]:
    """What the editor page posts for the draft as stored, with some fields changed."""
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


def denied_rows() -> int:
    return HistoryEvent.objects.filter(event=Event.ACCESS_DENIED).count()


def stored(change: ChangeRequest) -> tuple[int, dict[str, Any]]:
    change.refresh_from_db()
    return change.version, change.working_document


# --- opening drafts --------------------------------------------------------------------------


def test_proposing_a_change_opens_a_draft_prefilled_with_the_live_document(editor, live):
    client = client_for(editor)
    response = client.post(reverse("frameworks:change-propose", args=["prod-eu", "daily"]))
    change = ChangeRequest.objects.get()
    assert response["Location"] == url("edit", change)
    assert change.kind == ChangeKind.UPDATE and change.author == editor
    assert change.working_document["FrameworkControls"] == live.controls
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Minimum retention established for recovery point" in page.content


def test_proposing_again_returns_to_the_editors_own_draft(editor, draft):
    response = client_for(editor).post(
        reverse("frameworks:change-propose", args=["prod-eu", "daily"])
    )
    assert response["Location"] == url("edit", draft)
    assert ChangeRequest.objects.count() == 1


def test_only_editors_and_admins_propose_changes(role_client, live):
    role, client = role_client
    before = denied_rows()
    response = client.post(reverse("frameworks:change-propose", args=["prod-eu", "daily"]))
    if role in EDITORS:
        assert response.status_code == 302
    else:
        assert response.status_code == refusal_for(role)
        assert denied_rows() == before + 1


@pytest.mark.parametrize("page", ["change-new", "change-propose-deletion"])
def test_only_editors_and_admins_open_the_new_and_deletion_pages(role_client, live, page):
    role, client = role_client
    args = ["prod-eu"] if page == "change-new" else ["prod-eu", "daily"]
    before = denied_rows()
    response = client.get(reverse(f"frameworks:{page}", args=args))
    assert response.status_code == (200 if role in EDITORS else refusal_for(role))
    assert denied_rows() == before + (0 if role in EDITORS else 1)


@pytest.mark.parametrize(
    ("page", "data"),
    [("change-new", {"name": "nightly"}), ("change-propose-deletion", {"reason": "Old"})],
)
def test_only_editors_and_admins_open_new_and_deletion_drafts(role_client, live, page, data):
    role, client = role_client
    args = ["prod-eu"] if page == "change-new" else ["prod-eu", "daily"]
    before = denied_rows()
    response = client.post(reverse(f"frameworks:{page}", args=args), data)
    assert response.status_code == (302 if role in EDITORS else refusal_for(role))
    assert ChangeRequest.objects.count() == (1 if role in EDITORS else 0)
    assert denied_rows() == before + (0 if role in EDITORS else 1)


def test_the_framework_and_list_pages_offer_the_editor_to_editors_only(editor, auditor, live):
    for user, shown in [(editor, True), (auditor, False)]:
        client = client_for(user)
        page = client.get(live.get_absolute_url()).content.decode()
        assert ("Propose a change" in page) is shown
        assert ("Propose deletion" in page) is shown
        assert ("New framework" in client.get(reverse("frameworks:list")).content.decode()) is shown


def test_account_level_findings_are_shown_with_the_controls(editor, live):
    make_live_framework(live.target, "twin", controls=3)
    change = services.change_request_create_draft(
        user=editor,
        target_id=live.target_id,
        kind=ChangeKind.CREATE,
        framework_name="copy",
        document={"FrameworkControls": live.controls},
    )
    page = client_for(editor).get(url("edit", change)).content.decode()
    controls = page[page.index('id="fb-controls"') :][:600]
    assert "already has the same controls and parameters" in controls


def test_a_new_framework_starts_with_a_valid_name(editor, live):
    client = client_for(editor)
    new = reverse("frameworks:change-new", args=["prod-eu"])
    for name, says in [
        ("", "Must not be empty"),
        ("my-framework", "no hyphens"),
        ("daily", "already has a framework named daily"),
    ]:
        response = client.post(new, {"name": name})
        assert response.status_code == 200
        assert says in response.content.decode()
    response = client.post(new, {"name": "nightly"})
    change = ChangeRequest.objects.get(kind=ChangeKind.CREATE)
    assert response["Location"] == url("edit", change)
    assert change.framework_name == "nightly" and change.base_version is None
    assert b"nightly" in client.get(new).content  # listed as an unfinished draft


def test_proposing_deletion_needs_a_reason(editor, live):
    client = client_for(editor)
    page = reverse("frameworks:change-propose-deletion", args=["prod-eu", "daily"])
    response = client.post(page, {"reason": "  "})
    assert response.status_code == 200
    assert b"Say why the framework should go" in response.content
    response = client.post(page, {"reason": "Replaced by nightly"})
    change = ChangeRequest.objects.get(kind=ChangeKind.DELETE)
    assert response["Location"] == url("deletion", change)
    page = client.get(response["Location"])
    assert b"Delete the framework daily." in page.content
    assert b"Ready to submit" in page.content
    assert client.get(url("edit", change))["Location"] == url("deletion", change)


# --- every draft view, every role ------------------------------------------------------------

DRAFT_VIEWS = [
    ("edit", "get"),
    ("edit", "post"),
    ("check", "post"),
    ("control", "post"),
    ("add-control", "post"),
    ("remove-control", "post"),
    ("move-control", "post"),
    ("add-parameter", "post"),
    ("remove-parameter", "post"),
    ("to-json", "post"),
    ("json", "get"),
    ("json", "post"),
    ("to-form", "post"),
    ("import", "post"),
    ("discard", "post"),
    ("deletion", "get"),
    ("deletion", "post"),
]


def _request(client: Client, change: ChangeRequest, name: str, method: str, **extra: Any):
    data = form_data(change, row="controls-0", move="controls-0:down")
    if name in ("json", "to-form"):
        data = {"version": change.version, "text": json.dumps(change.working_document)}
    if method == "get":
        return client.get(url(name, change), **extra)
    return client.post(url(name, change), data, **extra)


@pytest.mark.parametrize(("name", "method"), DRAFT_VIEWS)
def test_each_draft_view_is_for_its_author_and_admins(role_client, draft, name, method):
    role, client = role_client
    before = denied_rows()
    response = _request(client, draft, name, method)
    if role in EDITORS:
        assert response.status_code in (200, 302), response.content[:500]
    else:
        # The service records the attempt, whoever makes it.
        assert response.status_code == refusal_for(role)
        assert denied_rows() == before + 1


@pytest.mark.parametrize(("name", "method"), DRAFT_VIEWS)
def test_another_editor_may_not_touch_someone_elses_draft(other_editor, draft, name, method):
    before = denied_rows()
    response = _request(client_for(other_editor), draft, name, method)
    assert response.status_code == 403
    assert b"Only the author of this change (erin)" in response.content
    assert denied_rows() == before + 1
    assert stored(draft)[0] == 1


@pytest.mark.parametrize(("name", "method"), DRAFT_VIEWS)
def test_unknown_drafts_are_404(editor, name, method):
    client = client_for(editor)
    assert getattr(client, method)(url(name, 999)).status_code == 404


@pytest.mark.parametrize(
    ("name", "method"),
    [(name, "put") for name in {n for n, _ in DRAFT_VIEWS}]
    + [(name, "get") for name, method in DRAFT_VIEWS if name not in ("edit", "json", "deletion")],
)
def test_wrong_methods_are_405(editor, draft, name, method):
    assert getattr(client_for(editor), method)(url(name, draft)).status_code == 405


def test_opening_views_refuse_wrong_methods(editor, live):
    client = client_for(editor)
    assert (
        client.get(reverse("frameworks:change-propose", args=["prod-eu", "daily"])).status_code
        == 405
    )
    assert client.put(reverse("frameworks:change-new", args=["prod-eu"])).status_code == 405
    deletion = reverse("frameworks:change-propose-deletion", args=["prod-eu", "daily"])
    assert client.put(deletion).status_code == 405
    assert (
        client.post(reverse("frameworks:change-propose", args=["prod-eu", "nope"])).status_code
        == 404
    )
    assert client.get(reverse("frameworks:change-new", args=["nowhere"])).status_code == 404


def test_an_admin_edits_and_saves_anyones_draft(admin_user, draft):
    client = client_for(admin_user)
    assert client.get(url("edit", draft)).status_code == 200
    response = client.post(url("edit", draft), form_data(draft, description="By the admin"))
    assert response.status_code == 302
    assert stored(draft)[1]["FrameworkDescription"] == "By the admin"


def test_a_deletion_draft_keeps_its_reason_and_refuses_an_old_version(editor, live):
    change = services.change_request_create_draft(
        user=editor,
        target_id=live.target_id,
        kind=ChangeKind.DELETE,
        framework_name="daily",
        reason="Replaced",
    )
    client = client_for(editor)
    page = url("deletion", change)
    response = client.post(page, {"version": "1", "reason": "Replaced by nightly"})
    assert response["Location"] == page
    assert stored(change)[0] == 2 and change.reason == "Replaced by nightly"
    response = client.post(page, {"version": "1", "reason": "From an old tab"})
    assert response.status_code == 409
    assert b"Not saved." in response.content and b"From an old tab" in response.content
    assert b'name="version" value="2"' in response.content
    assert client.post(page, {"reason": "no version"}).status_code == 400
    assert client.post(page, {"version": "2", "reason": " "}).status_code == 200
    assert change.reason == "Replaced by nightly"


def test_a_change_no_longer_a_draft_sends_its_author_to_the_change_page(editor, draft):
    services.change_request_discard(user=editor, change_id=draft.pk)
    response = client_for(editor).get(url("edit", draft))
    assert response["Location"] == reverse("frameworks:change-detail", args=[draft.pk])


# --- htmx: fragments only --------------------------------------------------------------------


def _fragment(response) -> str:
    assert response.status_code == 200, response.content[:300]
    text = response.content.decode()
    assert "<html" not in text and "<body" not in text
    return text


def test_adding_a_control_with_htmx_posts_only_the_management_form(editor, draft):
    response = client_for(editor).post(
        url("add-control", draft), {"controls-TOTAL_FORMS": "3"}, **HTMX
    )
    text = _fragment(response)
    assert 'id="row-controls-3"' in text and 'name="controls-3-name"' in text
    assert 'hx-swap-oob="true"' in text and 'name="controls-TOTAL_FORMS" value="4"' in text


def test_adding_a_parameter_row_with_htmx(editor, draft):
    data = {"row": "controls-1", "controls-1-params-TOTAL_FORMS": "0"}
    text = _fragment(client_for(editor).post(url("add-parameter", draft), data, **HTMX))
    assert 'name="controls-1-params-0-name"' in text
    assert 'name="controls-1-params-TOTAL_FORMS" value="1"' in text


def test_switching_the_control_redraws_its_row_with_htmx(editor, draft):
    data = form_data(draft, **{"controls-1-name": "BACKUP_LAST_RECOVERY_POINT_CREATED"})
    response = client_for(editor).post(
        url("control", draft), data, HTTP_HX_TARGET="row-controls-1", **HTMX
    )
    text = _fragment(response)
    assert text.strip().startswith('<li id="row-controls-1"')
    assert 'name="controls-1-p_recoveryPointAgeUnit"' in text
    # The retention it had is not a parameter of the new control: it becomes a name/value row.
    assert 'name="controls-1-params-0-name"' in text and 'value="requiredRetentionDays"' in text


def test_switching_the_scope_kind_offers_only_what_the_control_accepts(editor, draft):
    data = form_data(draft, **{"controls-0-name": "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"})
    text = _fragment(
        client_for(editor).post(
            url("control", draft), data, HTTP_HX_TARGET="row-controls-0", **HTMX
        )
    )
    kinds = text[text.index('class="kinds"') : text.index("</div>", text.index('class="kinds"'))]
    assert 'value="types"' in kinds and 'value="resource"' in kinds
    # It cannot be scoped by a tag; the tag it had stays, chosen, for the core to point at.
    assert 'value="tag" checked' in kinds


def test_checking_a_field_with_htmx_answers_the_rows_feedback_and_the_preview(editor, draft):
    data = form_data(draft, **{"controls-1-p_requiredRetentionDays": "0"})
    text = _fragment(
        client_for(editor).post(url("check", draft), data, HTTP_HX_TARGET="row-controls-1", **HTMX)
    )
    assert 'id="fb-controls-1-p_requiredRetentionDays" hx-swap-oob="true"' in text
    assert "must be at least 1; it is 0" in text
    assert 'id="preview" class="card preview" hx-swap-oob="true"' in text
    assert "change requiredRetentionDays from 2 to 0" in text
    assert "Not ready to submit: 1 error to fix first." in text
    assert stored(draft)[0] == 1  # checking never saves


def test_every_element_a_check_swaps_is_on_the_page(editor, new_target):
    """htmx logs an error (and the browser test fails) for an out-of-band swap whose target
    is not on the page: every scope kind, typed and raw parameters, findings or none."""
    controls = [
        {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"},
        {
            "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
            "ControlScope": {"ComplianceResourceTypes": ["EBS"], "Tags": {"a": ""}},
        },
        {
            "ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredFrequencyValue", "ParameterValue": "99"},
                {"ParameterName": "madeUp", "ParameterValue": ""},
            ],
            "ControlScope": {"ComplianceResourceTypes": ["EBS"], "ComplianceResourceIds": []},
        },
        {"ControlName": "NOT_A_CONTROL", "ControlScope": {"Tags": {"": "x"}}},
    ]
    change = services.change_request_create_draft(
        user=editor,
        target_id=new_target.pk,
        kind=ChangeKind.CREATE,
        framework_name="checked",
        document={"FrameworkControls": controls},
    )
    client = client_for(editor)
    page = client.get(url("edit", change)).content.decode()
    ids = set(re.findall(r'id="([^"]+)"', page))
    for target in ["row-draft", *(f"row-controls-{i}" for i in range(len(controls)))]:
        response = client.post(
            url("check", change), form_data(change), HTTP_HX_TARGET=target, **HTMX
        )
        swapped = re.findall(r'id="([^"]+)" hx-swap-oob', _fragment(response))
        assert swapped and set(swapped) <= ids, set(swapped) - ids


def test_checking_the_description_answers_its_own_feedback(editor, draft):
    data = form_data(draft, description=" ")
    text = _fragment(
        client_for(editor).post(url("check", draft), data, HTTP_HX_TARGET="row-draft", **HTMX)
    )
    assert 'id="fb-draft-description" hx-swap-oob="true"><p class="finding finding-error">' in text
    assert "must not be blank" in text


def test_removing_and_moving_rows_with_htmx(editor, draft):
    client = client_for(editor)
    text = _fragment(client.post(url("remove-control", draft), {"row": "controls-1"}, **HTMX))
    assert 'id="editor-status"' in text and "<li" not in text
    _fragment(client.post(url("remove-parameter", draft), {"row": "controls-1-params-0"}, **HTMX))
    data = form_data(draft, move="controls-2:up")
    text = _fragment(client.post(url("move-control", draft), data, **HTMX))
    assert text.strip().startswith('<div id="controls"')
    assert text.index('value="t2"') < text.index('value="t1"')


def test_htmx_fragments_hold_no_page_for_bad_input(editor, draft):
    client = client_for(editor)
    response = client.post(url("check", draft), {"version": "1"}, **HTMX)
    assert response.status_code == 400
    assert b"nothing was saved" in response.content and b"<html" not in response.content
    full = str(control_capacity())
    response = client.post(url("add-control", draft), {"controls-TOTAL_FORMS": full}, **HTMX)
    assert response.status_code == 400
    response = client.post(url("add-parameter", draft), {"row": "x"}, **HTMX)
    assert response.status_code == 400


# --- the same buttons without JavaScript -----------------------------------------------------


def test_without_javascript_each_button_redraws_the_whole_page_unsaved(editor, draft):
    client = client_for(editor)
    data = form_data(draft, **{"controls-0-tag_value": "typed, not saved"})
    for name, extra, expect in [
        ("add-control", {}, 'name="controls-3-name"'),
        ("add-parameter", {"row": "controls-0"}, 'name="controls-0-params-0-name"'),
        ("remove-control", {"row": "controls-1"}, 'value="t2"'),
        ("move-control", {"move": "controls-0:down"}, 'value="t1"'),
        ("control", {}, 'name="controls-0-tag_value"'),
        ("check", {}, "What this draft changes"),
    ]:
        response = client.post(url(name, draft), {**data, **extra})
        text = response.content.decode()
        assert response.status_code == 200 and "<html" in text, name
        assert "typed, not saved" in text and expect in text, name
    assert stored(draft)[0] == 1
    removed = client.post(url("remove-control", draft), {**data, "row": "controls-1"}).content
    assert b'value="t1"' not in removed


# --- saving ----------------------------------------------------------------------------------


def test_saving_keeps_the_draft_as_written_and_shows_its_findings(editor, draft):
    client = client_for(editor)
    data = form_data(
        draft,
        reason="Tighter retention",
        **{"controls-1-p_requiredRetentionDays": "abc", "controls-2-p_requiredRetentionDays": "40"},
    )
    response = client.post(url("edit", draft), data)
    assert response["Location"] == url("edit", draft)
    version, working = stored(draft)
    assert version == 2 and draft.reason == "Tighter retention"
    values = [
        c["ControlInputParameters"][0]["ParameterValue"] for c in working["FrameworkControls"]
    ]
    assert values == ["1", "abc", "40"]
    page = client.get(url("edit", draft)).content.decode()
    assert "Draft saved." in page
    slot = page[page.index('id="fb-controls-1-p_requiredRetentionDays"') :][:300]
    assert "must be a whole number, not &#x27;abc&#x27;" in slot
    assert "Not ready to submit: 1 error to fix first." in page


def test_a_second_tab_saving_an_older_version_is_refused_and_keeps_its_input(editor, draft):
    client = client_for(editor)
    first = form_data(draft, description="From the first tab")
    second = form_data(draft, description="From the second tab")
    assert client.post(url("edit", draft), first).status_code == 302
    response = client.post(url("edit", draft), second)
    assert response.status_code == 409
    text = response.content.decode()
    assert "Not saved. This draft was saved elsewhere after you opened it" in text
    assert "From the second tab" in text and 'name="version" value="2"' in text
    assert stored(draft) == (2, stored(draft)[1])
    assert stored(draft)[1]["FrameworkDescription"] == "From the first tab"


def test_a_draft_that_changes_nothing_says_it_cannot_be_submitted(editor, draft):
    page = client_for(editor).get(url("edit", draft)).content.decode()
    assert "a draft that changes nothing cannot be submitted" in page


def test_discarding_a_draft_ends_it(editor, draft):
    response = client_for(editor).post(url("discard", draft))
    assert response["Location"] == reverse("frameworks:detail", args=["prod-eu", "daily"])
    draft.refresh_from_db()
    assert draft.state == ChangeState.WITHDRAWN


# --- bad input: a 400 or the form again, never a 500, never a half-written draft --------------


BAD_POSTS = {
    "no management form": lambda d: {k: v for k, v in d.items() if "TOTAL_FORMS" not in k},
    "forged total": lambda d: {**d, "controls-TOTAL_FORMS": "100000"},
    "negative total": lambda d: {**d, "controls-TOTAL_FORMS": "-3"},
    "text total": lambda d: {**d, "controls-0-params-TOTAL_FORMS": "many"},
    "too many parameter rows": lambda d: {**d, "controls-0-params-TOTAL_FORMS": "11"},
    "no version": lambda d: {k: v for k, v in d.items() if k != "version"},
    "text version": lambda d: {**d, "version": "one"},
    "NUL in a value": lambda d: {**d, "controls-0-tag_value": "a\x00b"},
    "NUL in a type": lambda d: {
        **d,
        "controls-0-scope_kind": "types",
        "controls-0-resource_types": ["EBS", "R\x00DS"],
    },
    "unknown scope kind": lambda d: {**d, "controls-0-scope_kind": "everything"},
}


@pytest.mark.parametrize("case", list(BAD_POSTS))
def test_a_damaged_form_is_refused_with_400_and_the_draft_untouched(editor, draft, case):
    before = stored(draft)
    response = client_for(editor).post(url("edit", draft), BAD_POSTS[case](form_data(draft)))
    assert response.status_code == 400
    assert b"The form arrived damaged, so nothing was saved" in response.content
    assert stored(draft) == before


def test_thousands_of_rows_are_refused_before_the_view(editor, draft):
    data = form_data(draft, **{"controls-TOTAL_FORMS": "3000"})
    for i in range(3, 3000):
        data[f"controls-{i}-name"] = "BACKUP_RECOVERY_POINT_ENCRYPTED"
    before = stored(draft)
    assert client_for(editor).post(url("edit", draft), data).status_code == 400
    assert stored(draft) == before


def test_a_body_larger_than_django_accepts_is_400(editor, draft):
    data = form_data(draft, description="x" * 3_000_000)
    assert client_for(editor).post(url("edit", draft), data).status_code == 400


def test_unknown_fields_are_ignored_and_huge_values_are_the_cores_to_judge(editor, draft):
    client = client_for(editor)
    data = form_data(draft, surprise="!", description="d" * 5000)
    assert client.post(url("edit", draft), data).status_code == 302
    page = client.get(url("edit", draft)).content.decode()
    assert "must be at most 1024 characters; it has 5000" in page


def test_bytes_that_are_not_utf8_are_refused_not_saved_mangled(editor, draft):
    client = client_for(editor)
    before = stored(draft)
    fields = [(k, v) for k, v in form_data(draft).items() if isinstance(v, str)]
    body = "&".join(f"{k}={v}" for k, v in fields).encode() + b"&description=caf%E9+%FF"
    response = client.post(
        url("edit", draft), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "bytes that are not UTF-8 text" in response.content.decode()
    assert stored(draft) == before
    response = client.post(
        url("json", draft),
        b"version=1&text=%7B%22FrameworkDescription%22%3A%22%E9%22%7D",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and b"not UTF-8" in response.content
    assert stored(draft) == before


# --- JSON mode and import --------------------------------------------------------------------


def test_json_mode_shows_and_saves_the_same_draft(editor, draft):
    client = client_for(editor)
    page = client.get(url("json", draft)).content.decode()
    assert "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK" in page
    data = dict(draft.working_document, FrameworkDescription="Edited as JSON")
    response = client.post(
        url("json", draft), {"version": "1", "text": json.dumps(data), "reason": "Why"}
    )
    assert response["Location"] == url("json", draft)
    assert stored(draft)[1]["FrameworkDescription"] == "Edited as JSON"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "This is not valid JSON"),
        ('{"FrameworkControls": [{"ControlName": 7}]}', "must be text, not int"),
        ('{"FrameworkDescription": "\\u0000"}', "NUL character"),
        ("   ", "Write or paste a framework document."),
    ],
)
def test_json_that_cannot_be_saved_is_shown_again_with_the_reason(editor, draft, text, says):
    before = stored(draft)
    response = client_for(editor).post(url("json", draft), {"version": "1", "text": text})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert stored(draft) == before


def test_json_cannot_rename_the_framework(editor, draft):
    client = client_for(editor)
    data = dict(draft.working_document, FrameworkName="renamed")
    response = client.post(
        url("json", draft), {"version": "1", "text": json.dumps(data)}, follow=True
    )
    assert b"The name stays daily: AWS cannot rename a framework." in response.content
    assert stored(draft)[1]["FrameworkName"] == "daily"


def test_switching_between_form_and_json_keeps_what_was_typed_unsaved(editor, draft):
    client = client_for(editor)
    data = form_data(draft, **{"controls-0-tag_value": "from the form"})
    text = client.post(url("to-json", draft), data).content.decode()
    assert "from the form" in text and "not saved yet" in text
    working = dict(draft.working_document, FrameworkDescription="from JSON")
    text = client.post(
        url("to-form", draft), {"version": "1", "text": json.dumps(working)}
    ).content.decode()
    assert ">\nfrom JSON</textarea>" in text and "not saved yet" in text
    assert stored(draft)[0] == 1


def test_importing_a_cloudformation_file_replaces_the_document(editor, draft):
    resource = {
        "Type": "AWS::Backup::Framework",
        "Properties": {
            "FrameworkName": "other",
            "FrameworkControls": [
                {
                    "ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED",
                    "ControlScope": {"Tags": [{"Key": "env", "Value": "prod"}]},
                }
            ],
        },
    }
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("fw.json", json.dumps(resource).encode(), "application/json")
    client = client_for(editor)
    response = client.post(url("import", draft), {"version": "1", "file": upload}, follow=True)
    assert b"Imported fw.json." in response.content
    working = stored(draft)[1]
    assert working["FrameworkName"] == "daily"
    assert working["FrameworkControls"] == [
        {
            "ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED",
            "ControlScope": {"Tags": {"env": "prod"}},
        }
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"\xff\xfe{}", "not UTF-8 text"), (b"{oops", "not valid JSON"), (b"[]", "JSON object")],
)
def test_an_unusable_file_is_refused_with_the_reason(editor, draft, content, says):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = stored(draft)
    upload = SimpleUploadedFile("fw.json", content, "application/json")
    response = client_for(editor).post(url("import", draft), {"version": "1", "file": upload})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert stored(draft) == before


# --- queries do not grow with the controls ---------------------------------------------------


def _draft_with(editor, controls: int, name: str) -> ChangeRequest:
    target = make_target(f"t-{name}")
    make_live_framework(target, name, controls=controls)
    return services.change_request_create_draft(
        user=editor, target_id=target.pk, kind=ChangeKind.UPDATE, framework_name=name
    )


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code in (200, 302)
    return len(queries)


EDITOR_GET_QUERIES = 8
EDITOR_POST_QUERIES = 15 + history_appends()  # a save writes one history row


def test_the_editor_asks_the_database_as_often_for_50_controls_as_for_5(
    editor, django_assert_num_queries
):
    client = client_for(editor)
    client.get(reverse("frameworks:list"))  # the session, once
    for controls in (5, 50):
        change = _draft_with(editor, controls, f"f{controls}")
        with django_assert_num_queries(EDITOR_GET_QUERIES):
            client.get(url("edit", change))
        data = form_data(change, description=f"{controls} controls")
        with django_assert_num_queries(EDITOR_POST_QUERIES):
            client.post(url("edit", change), data)


EDITOR_CHECK_QUERIES = 8  # was 10: the documents in the first query
EDITOR_CHECK_PARSES = 2  # the posted draft and its base, once each (the other frameworks: never)


def test_the_htmx_check_asks_and_parses_as_much_for_50_controls_as_for_5(
    editor, django_assert_num_queries, monkeypatch
):
    """With four other frameworks on the target: their documents are not parsed again on
    every check (the account checks keep what they need of each by its content hash)."""
    parsed = []
    real_parse = document.parse

    def counting_parse(data: Any) -> document.Document:
        parsed.append(1)
        return real_parse(data)

    client = client_for(editor)
    client.get(reverse("frameworks:list"))  # the session, once
    for controls in (5, 50):
        change = _draft_with(editor, controls, f"f{controls}")
        for i in range(4):
            make_live_framework(change.target, f"other{i}", controls=2)
        data = form_data(change, description=f"{controls} controls")
        check = url("check", change)
        client.post(check, data, HTTP_HX_TARGET="row-controls-1", **HTMX)  # warm
        monkeypatch.setattr(document, "parse", counting_parse)
        parsed.clear()
        with django_assert_num_queries(EDITOR_CHECK_QUERIES):
            client.post(check, data, HTTP_HX_TARGET="row-controls-1", **HTMX)
        assert len(parsed) == EDITOR_CHECK_PARSES
        monkeypatch.setattr(document, "parse", real_parse)
