"""A framework as it was: its document at a date, the diff between two of its versions, and a
change started from an old version; each role tried, query counts pinned at two sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from frameworks import document, history, services
from frameworks.history import Actor
from frameworks.models import (
    ChangeKind,
    ChangeRequest,
    ChangeState,
    DocumentVersion,
    Event,
    Framework,
    HistoryEvent,
)
from tests.audit_builders import set_time
from tests.conftest import client_for
from tests.factories import control, grant, make_live_framework, make_target, user

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
MAR = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def doc_with(retention: list[int], description: str = "daily framework") -> dict:
    return {
        "FrameworkName": "daily",
        "FrameworkDescription": description,
        "FrameworkControls": [control(days - 1) for days in retention],
    }


def seen(target, event: str, doc: dict | None, when: datetime, name: str = "daily") -> int:
    """A row that says what AWS held, written as sync writes it, moved to `when`."""
    version = DocumentVersion.record(document.parse(doc)) if doc is not None else None
    row = history.append(
        event, Actor.sync(), target=target, framework_name=name, version_after=version
    )
    set_time([row.id], when)
    return row.id


@pytest.fixture
def framework_history():
    """daily: 1 control in January, 2 in February (a new control, description changed), gone
    in March... and back now with 3 controls (the live mirror)."""
    target = make_target("prod-eu")
    ids = {
        "jan": seen(target, Event.SYNC_NEW, doc_with([7]), JAN),
        "feb": seen(target, Event.SYNC_CHANGED, doc_with([7, 14], "Two weeks too"), FEB),
        "mar": seen(target, Event.SYNC_GONE, None, MAR),
    }
    framework = make_live_framework(target, "daily", controls=3)
    ids["now"] = seen(
        target, Event.SYNC_NEW, framework.api_document(), timezone.now() - timedelta(minutes=1)
    )
    return {"target": target, "framework": framework, "ids": ids}


def url(suffix: str = "") -> str:
    return f"/frameworks/prod-eu/daily/versions/{suffix}"


def test_the_page_shows_the_document_as_it_was_at_a_date(framework_history, auditor):
    response = client_for(auditor).get(url(), {"at": "2026-02-20T12:00"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "As it was at 20 Feb 2026 12:00:00 UTC" in page
    assert f"version {framework_history['ids']['feb']}</a>" in page
    assert "Two weeks too" in page
    assert page.count('<li class="control">') == 2
    # Every version is listed, newest first, to compare.
    ids = framework_history["ids"]
    positions = [page.index(f'name="a" value="{ids[k]}"') for k in ("now", "mar", "feb", "jan")]
    assert positions == sorted(positions)


def test_each_versions_show_link_shows_that_version(framework_history, auditor):
    client = client_for(auditor)
    page = client.get(url()).content.decode()
    for key in ("jan", "feb"):
        row = HistoryEvent.objects.get(pk=framework_history["ids"][key])
        at = (row.created_at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert f'href="?at={at}"' in page
        shown = client.get(url(), {"at": at}).content.decode()
        assert f'This is <a href="/audit/events/{row.pk}/">version {row.pk}</a>' in shown


def test_before_the_first_version_and_while_gone_it_says_so(framework_history, auditor):
    client = client_for(auditor)
    before = client.get(url(), {"at": "2025-12-31T23:59"}).content.decode()
    assert "The console had not seen daily by then." in before
    gone = client.get(url(), {"at": "2026-03-15T00:00"}).content.decode()
    assert "daily was not in AWS then" in gone


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("yesterday", "Enter the date and time as 2026-03-31T17:30 (UTC)."),
        ("", "Enter a date and time to show the framework at."),
        ("2026-02-31T10:00", "Enter the date and time as"),
        ("9" * 400, "Enter the date and time as"),
    ],
)
def test_a_bad_date_is_named_and_the_versions_still_show(framework_history, auditor, value, words):
    response = client_for(auditor).get(url(), {"at": value})
    assert response.status_code == 200
    page = response.content.decode()
    assert words in page and 'name="a"' in page


def test_htmx_gets_only_the_document_section(framework_history, auditor):
    response = client_for(auditor).get(url(), {"at": "2026-01-20T00:00"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="as-of"')
    assert "<html" not in page and 'name="a"' not in page
    # The browser keeps the fragment and the page apart (going back shows the page).
    assert "HX-Request" in response["Vary"]
    full = client_for(auditor).get(url(), {"at": "2026-01-20T00:00"})
    assert "HX-Request" in full["Vary"] and "<html" in full.content.decode()


def test_an_editors_fragment_has_the_start_button(framework_history, editor):
    response = client_for(editor).get(url(), {"at": "2026-01-20T00:00"}, HTTP_HX_REQUEST="true")
    assert "Start a change from this version" in response.content.decode()


def test_the_diff_between_two_versions_is_the_document_cores(framework_history, auditor):
    ids = framework_history["ids"]
    response = client_for(auditor).get(url("compare/"), {"a": ids["jan"], "b": ids["feb"]})
    assert response.status_code == 200
    page = response.content.decode()
    expected = document.diff(document.parse(doc_with([7])), document.parse(doc_with([7, 14])))
    assert expected
    for change in expected:
        assert f'<li class="diff-{change.kind}">' in page
    assert "Change the description from" in page
    assert "Two weeks too" in page and 'badge">added' in page


def test_comparing_with_a_gone_version_reads_as_a_deletion(framework_history, auditor):
    ids = framework_history["ids"]
    page = client_for(auditor).get(url("compare/"), {"a": ids["feb"], "b": ids["mar"]})
    assert "Delete the framework daily." in page.content.decode()


def test_the_same_version_twice_shows_no_changes(framework_history, auditor):
    ids = framework_history["ids"]
    page = client_for(auditor).get(url("compare/"), {"a": ids["feb"], "b": ids["feb"]})
    assert "No changes: the two versions hold the same document." in page.content.decode()


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "Choose the version to compare from."),
        ({"a": "x", "b": "1"}, 400, "The version to compare from is not a version number."),
        ({"a": "1", "b": "-3"}, 400, "The version to compare to is not a version number."),
        ({"a": "1", "b": "9" * 40}, 400, "The version to compare to is not a version number."),
    ],
)
def test_bad_versions_to_compare_are_named(framework_history, auditor, params, status, words):
    response = client_for(auditor).get(url("compare/"), params)
    assert response.status_code == status
    assert words in response.content.decode()


def test_a_version_of_another_framework_is_not_found(framework_history, auditor):
    other = seen(framework_history["target"], Event.SYNC_NEW, doc_with([1]), JAN, name="weekly")
    ids = framework_history["ids"]
    response = client_for(auditor).get(url("compare/"), {"a": ids["jan"], "b": other})
    assert response.status_code == 404


def test_someone_without_a_role_on_the_target_finds_nothing_there(framework_history):
    dev = make_target("dev-eu")
    outsider = client_for(grant(user("dora"), "auditor", dev))
    ids = framework_history["ids"]
    assert outsider.get(url(), {"at": "2026-02-20T12:00"}).status_code == 404
    assert outsider.get(url("compare/"), {"a": ids["jan"], "b": ids["feb"]}).status_code == 404
    assert client_for(user("nobody")).get(url()).status_code == 404


def test_an_unknown_framework_or_target_is_not_found(framework_history, auditor):
    client = client_for(auditor)
    assert client.get("/frameworks/prod-eu/nothing/versions/").status_code == 404
    assert client.get("/frameworks/nowhere/daily/versions/").status_code == 404


def test_the_pages_answer_only_get(framework_history, auditor):
    client = client_for(auditor)
    assert client.post(url()).status_code == 405
    assert client.post(url("compare/")).status_code == 405
    start = url(f"{framework_history['ids']['jan']}/start-change/")
    assert client.get(start).status_code == 405


def test_an_editor_starts_a_change_from_an_old_version(framework_history, editor):
    ids = framework_history["ids"]
    client = client_for(editor)
    response = client.post(url(f"{ids['feb']}/start-change/"))
    change = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/frameworks/changes/{change.pk}/"
    assert change.state == ChangeState.DRAFT and change.kind == ChangeKind.UPDATE
    assert change.author == editor
    feb = HistoryEvent.objects.get(pk=ids["feb"])
    assert change.proposed_version == feb.version_after
    assert change.base_version.content_hash == framework_history["framework"].content_hash
    assert change.proposed_tags is None  # versions keep no tags: the draft leaves them alone
    row = HistoryEvent.objects.filter(event=Event.DRAFT_CREATED).get()
    assert row.details["from_row"] == ids["feb"] and row.change_request_id == change.pk
    assert row.details["from_version"] == feb.version_after.content_hash
    page = client.get(response["Location"]).content.decode()
    assert "Remove the control" in page  # live has 3 controls, February had 2
    # Then the normal review: the author submits it.
    services.change_request_submit(user=editor, change_id=change.pk, reason="Back to February")
    assert ChangeRequest.objects.get().state == ChangeState.SUBMITTED


def test_a_change_from_a_version_of_a_gone_framework_creates_it_again(editor):
    target = make_target("prod-eu")
    feb = seen(target, Event.SYNC_NEW, doc_with([7, 14]), FEB)
    seen(target, Event.SYNC_GONE, None, MAR)
    Framework.objects.create(target=target, name="daily", present=False)
    change = services.change_request_start_from_version(
        user=editor, target_id=target.pk, framework_name="daily", row_id=feb
    )
    assert change.kind == ChangeKind.CREATE and change.base_version is None
    assert len(change.working_document["FrameworkControls"]) == 2


@pytest.mark.parametrize("who", ["approver", "auditor", "outsider"])
def test_only_editors_may_start_a_change_and_a_refusal_is_recorded(framework_history, request, who):
    person = request.getfixturevalue(who)
    response = client_for(person).post(url(f"{framework_history['ids']['feb']}/start-change/"))
    # Someone with no role on the target is told it does not exist (the 404 rule).
    assert response.status_code == (404 if who == "outsider" else 403)
    assert not ChangeRequest.objects.exists()
    assert HistoryEvent.objects.filter(event=Event.ACCESS_DENIED, actor_name=person.username)


def test_an_editor_of_another_target_only_may_not_start_one(framework_history):
    dev = make_target("dev-eu")
    elsewhere = client_for(grant(grant(user("ed"), "editor", dev), "auditor", dev))
    response = elsewhere.post(url(f"{framework_history['ids']['feb']}/start-change/"))
    assert response.status_code == 404


def test_a_target_admin_may_start_one(framework_history):
    tad = client_for(grant(user("tad"), "admin", framework_history["target"]))
    response = tad.post(url(f"{framework_history['ids']['jan']}/start-change/"))
    assert response.status_code == 302 and ChangeRequest.objects.exists()


def test_starting_from_a_gone_version_or_another_frameworks_row_is_refused(
    framework_history, editor
):
    ids = framework_history["ids"]
    client = client_for(editor)
    response = client.post(url(f"{ids['mar']}/start-change/"), follow=True)
    assert "saw daily gone from AWS: there is no document to start from" in (
        response.content.decode()
    )
    other = seen(framework_history["target"], Event.SYNC_NEW, doc_with([1]), JAN, name="weekly")
    assert client.post(url(f"{other}/start-change/")).status_code == 404
    assert not ChangeRequest.objects.exists()
    refusals = HistoryEvent.objects.filter(event=Event.REFUSED).values_list("details", flat=True)
    assert {d["code"] for d in refusals} == {"no_document", "not_found"}


def test_the_buttons_show_only_to_editors(framework_history, editor, auditor):
    at = {"at": "2026-02-20T12:00"}
    assert "Start a change from this version" in client_for(editor).get(url(), at).content.decode()
    assert "Start a change from this version" not in (
        client_for(auditor).get(url(), at).content.decode()
    )


def test_the_framework_page_links_to_its_versions(framework_history, auditor):
    page = client_for(auditor).get("/frameworks/prod-eu/daily/").content.decode()
    assert 'href="/frameworks/prod-eu/daily/versions/"' in page


def _more_versions(target, count: int) -> None:
    for i in range(count):
        seen(target, Event.SYNC_CHANGED, doc_with([7, 14 + i]), FEB + timedelta(hours=i + 1))


@pytest.mark.parametrize("extra", [0, 30])
def test_the_pages_ask_the_same_number_of_queries_however_many_versions(
    framework_history, editor, django_assert_num_queries, extra
):
    _more_versions(framework_history["target"], extra)
    ids = framework_history["ids"]
    client = client_for(editor)
    # Session, user, target and the viewer's roles (2), then one query per region.
    with django_assert_num_queries(7):
        assert client.get(url(), {"at": "2026-02-20T12:00"}).status_code == 200
    with django_assert_num_queries(6):
        client.get(url(), {"at": "2026-02-20T12:00"}, HTTP_HX_REQUEST="true")
    with django_assert_num_queries(6):
        assert client.get(url("compare/"), {"a": ids["jan"], "b": ids["now"]}).status_code == 200
