"""The change history: chained, append-only in the ORM, the admin and (on PostgreSQL) the
database itself, and every raw edit, removal or insertion is found by verify_history."""

from __future__ import annotations

import itertools
import threading
from io import StringIO

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from frameworks import document, history, queries, services
from frameworks.history import Actor
from frameworks.models import (
    ChangeRequest,
    DocumentVersion,
    Event,
    HistoryEvent,
    ImmutableRowError,
)
from tests.conftest import client_for
from tests.database import superuser_cursor
from tests.factories import make_live_framework, make_target

pytestmark = pytest.mark.django_db


def version(days: int) -> DocumentVersion:
    return DocumentVersion.record(
        document.parse(
            {
                "FrameworkControls": [
                    {
                        "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
                        "ControlInputParameters": [
                            {"ParameterName": "requiredRetentionDays", "ParameterValue": str(days)}
                        ],
                    }
                ]
            }
        )
    )


def sync_rows(framework, count: int) -> list[HistoryEvent]:
    """`count` rows of sync seeing the framework's retention go 1, 2, 3, ..."""
    return [
        history.append(
            Event.SYNC_CHANGED,
            Actor.sync(),
            target=framework.target,
            framework_name=framework.name,
            version_before=version(i),
            version_after=version(i + 1),
        )
        for i in range(1, count + 1)
    ]


@pytest.fixture
def chain() -> list[HistoryEvent]:
    """Five rows on one framework."""
    return sync_rows(make_live_framework(make_target(), "daily", controls=1), 5)


def verify_fails(match: str) -> None:
    with pytest.raises(CommandError, match=match) as info:
        call_command("verify_history")
    assert info.value.returncode == 1


def as_db_superuser():
    """Raw SQL with the append-only triggers off, as a database superuser could send it."""
    return superuser_cursor()


# --- the chain ------------------------------------------------------------------------------


def test_rows_are_numbered_without_gaps_and_chained(chain):
    assert [row.id for row in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == history.GENESIS
    for before, row in itertools.pairwise(chain):
        assert row.prev_hash == before.row_hash
    stored = HistoryEvent.objects.get(pk=3)
    assert history.row_hash(stored) == stored.row_hash == chain[2].row_hash
    out = StringIO()
    call_command("verify_history", stdout=out)
    assert "5 rows" in out.getvalue()


def test_an_empty_history_verifies():
    assert history.verify() == (0, None)


def test_rows_appended_together_share_a_correlation_id():
    with history.correlation("task-42"):
        first = history.append(Event.REFUSED, Actor.system())
        second = history.append(Event.REFUSED, Actor.system())
    third = history.append(Event.REFUSED, Actor.system())
    assert first.correlation_id == second.correlation_id == "task-42"
    assert third.correlation_id not in ("", "task-42")


def test_details_hash_as_they_read_back(chain):
    from datetime import UTC, datetime

    row = history.append(
        Event.ATTEMPT_FAILED,
        Actor.worker("host:1"),
        details={"when": datetime(2026, 1, 2, tzinfo=UTC), "seconds": 0.25, "ünï": ["cödé"]},
    )
    stored = HistoryEvent.objects.get(pk=row.pk)
    assert stored.details["when"] == "2026-01-02T00:00:00Z"
    assert history.row_hash(stored) == stored.row_hash
    assert history.verify() == (6, None)


# --- no path through the ORM or the admin changes a row -------------------------------------


def test_the_orm_refuses_to_change_or_remove_history(chain):
    row = HistoryEvent.objects.get(pk=2)
    row.actor_name = "mallory"
    attempts = [
        row.save,
        row.delete,
        lambda: HistoryEvent.objects.filter(pk=2).update(actor_name="mallory"),
        lambda: HistoryEvent.objects.update(actor_name="mallory"),
        lambda: HistoryEvent.objects.filter(pk=2).delete(),
        lambda: HistoryEvent.objects.all().delete(),
        lambda: HistoryEvent.objects.bulk_update([row], ["actor_name"]),
        lambda: HistoryEvent.objects.update_or_create(pk=2, defaults={"actor_name": "x"}),
    ]
    for attempt in attempts:
        with pytest.raises(ImmutableRowError):
            attempt()
    assert history.verify() == (5, None)


def test_the_orm_refuses_to_change_or_remove_a_document_version(chain):
    stored = DocumentVersion.objects.first()
    stored.document = {"FrameworkControls": []}
    for attempt in (
        stored.save,
        stored.delete,
        lambda: DocumentVersion.objects.update(document={}),
        lambda: DocumentVersion.objects.all().delete(),
    ):
        with pytest.raises(ImmutableRowError):
            attempt()


def test_the_admin_shows_history_read_only_even_to_a_superuser(chain):
    boss = User.objects.create_superuser("boss", "boss@example.com", "password")
    client = client_for(boss)
    changelist = reverse("admin:frameworks_historyevent_changelist")
    change = reverse("admin:frameworks_historyevent_change", args=[2])
    response = client.get(changelist)
    assert response.status_code == 200 and b"daily" in response.content
    page = client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(change, {"actor_name": "mallory"}).status_code == 403
    assert client.get(reverse("admin:frameworks_historyevent_delete", args=[2])).status_code == 403
    delete = reverse("admin:frameworks_historyevent_delete", args=[2])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:frameworks_historyevent_add")).status_code == 403
    request = RequestFactory().get(changelist)
    request.user = boss
    assert "delete_selected" not in site._registry[HistoryEvent].get_actions(request)
    client.post(
        changelist, {"action": "delete_selected", "_selected_action": ["1", "2"], "post": "yes"}
    )
    assert HistoryEvent.objects.count() == 5
    assert history.verify() == (5, None)


def test_the_admin_is_read_only_for_versions_and_change_requests():
    boss = User.objects.create_superuser("boss", "boss@example.com", "password")
    request = RequestFactory().get("/")
    request.user = boss
    for model in (DocumentVersion, ChangeRequest):
        model_admin = site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


# --- the database itself (PostgreSQL) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["frameworks_historyevent", "frameworks_documentversion"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET id = id",
        "UPDATE {table} SET id = id WHERE false",
        "DELETE FROM {table} WHERE id = 1",
        "TRUNCATE {table} CASCADE",
    ],
)
def test_the_database_refuses_to_change_or_remove_rows(chain, table, statement):
    # The app role lacks the privilege; a role that has it meets the trigger (both are tested
    # one by one in tests/test_db_roles.py).
    with (
        pytest.raises(DatabaseError, match=r"refused|permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=table))
    assert history.verify() == (5, None)


# --- verify_history finds what a database superuser did -------------------------------------


def test_verify_history_finds_an_edited_row(chain):
    with as_db_superuser() as cursor:
        cursor.execute("UPDATE frameworks_historyevent SET actor_name = 'mallory' WHERE id = 3")
    verify_fails("row 3 was edited")


def test_verify_history_finds_a_removed_row(chain):
    with as_db_superuser() as cursor:
        cursor.execute("DELETE FROM frameworks_historyevent WHERE id = 3")
    verify_fails("row 3 was removed: row 4 follows row 2")


def test_verify_history_finds_rows_removed_from_the_end(chain):
    with as_db_superuser() as cursor:
        cursor.execute("DELETE FROM frameworks_historyevent WHERE id >= 4")
    verify_fails("row 4 was removed: the application appended up to row 5")


COLUMNS = (
    "id, created_at, actor_id, actor_name, actor_kind, actor_host, target_id, framework_name, "
    "change_request_id, event, outcome, version_before_id, version_after_id, details, "
    "correlation_id, schema_version, prev_hash, row_hash"
)


def forge(copy_of: int, new_id: int, prev_hash: str) -> None:
    """Insert a copy of a row, renamed, with a hash that matches its content: what someone who
    knows how the chain works would write."""
    forged = HistoryEvent.objects.get(pk=copy_of)
    forged.id, forged.actor_name, forged.prev_hash = new_id, "mallory", prev_hash
    selected = COLUMNS.replace("id, created_at", "%s, created_at", 1)
    selected = selected.replace("actor_name", "%s").replace("prev_hash, row_hash", "%s, %s")
    with as_db_superuser() as cursor:
        cursor.execute(
            f"INSERT INTO frameworks_historyevent ({COLUMNS}) "  # noqa: S608 - constants only
            f"SELECT {selected} FROM frameworks_historyevent WHERE id = %s",
            [new_id, "mallory", prev_hash, history.row_hash(forged), copy_of],
        )


def test_verify_history_finds_a_row_inserted_at_the_end(chain):
    forge(copy_of=2, new_id=6, prev_hash=chain[-1].row_hash)
    verify_fails("row 6 was inserted after the last row the application appended")


def test_verify_history_finds_a_row_put_in_place_of_another(chain):
    with as_db_superuser() as cursor:
        cursor.execute("DELETE FROM frameworks_historyevent WHERE id = 3")
    forge(copy_of=2, new_id=3, prev_hash=chain[1].row_hash)
    verify_fails("row 3 was inserted: row 4 was chained to a different row")


def test_verify_history_finds_an_edited_document_version(chain):
    edited = chain[2].version_after_id
    with as_db_superuser() as cursor:
        cursor.execute(
            "UPDATE frameworks_documentversion SET content_hash = %s WHERE id = %s",
            ["e" * 64, edited],
        )
    verify_fails(f"document version {edited} was edited")


# --- people and targets come and go; the history stays --------------------------------------


def test_the_history_renders_after_its_actor_is_deleted(editor, auditor):
    framework = make_live_framework(make_target(), "daily", controls=1)
    change = services.change_request_create_draft(
        user=editor, target_id=framework.target_id, kind="update", framework_name="daily"
    )
    editor_id = editor.pk
    editor.delete()
    row = HistoryEvent.objects.get(change_request=change)
    assert (row.actor_id, row.actor_name) == (editor_id, "erin")
    change.refresh_from_db()
    assert change.author is None and change.author_name == "erin"
    response = client_for(auditor).get(framework.get_absolute_url())
    assert response.status_code == 200
    assert "erin" in response.content.decode()
    boss = User.objects.create_superuser("boss", "boss@example.com", "password")
    admin_page = client_for(boss).get(reverse("admin:frameworks_historyevent_changelist"))
    assert admin_page.status_code == 200 and b"erin" in admin_page.content
    assert history.verify() == (1, None)


def test_deleting_a_target_leaves_its_history(chain):
    from frameworks.models import Framework, Target

    target = Target.objects.get()
    Framework.objects.filter(target=target).delete()
    target.delete()
    assert HistoryEvent.objects.count() == 5
    assert history.verify() == (5, None)


# --- the framework page ---------------------------------------------------------------------


def test_the_framework_page_shows_its_history_newest_first_with_the_diff(auditor):
    framework = make_live_framework(make_target(), "daily", controls=1)
    other = make_live_framework(framework.target, "other", controls=1)
    history.append(
        Event.SYNC_NEW,
        Actor.sync(),
        target=framework.target,
        framework_name="daily",
        version_after=version(1),
    )
    sync_rows(framework, 2)
    history.append(Event.SYNC_GONE, Actor.sync(), target=other.target, framework_name="other")
    text = client_for(auditor).get(framework.get_absolute_url()).content.decode()
    # A new framework is summed up: its content is the document shown on the page anyway.
    assert "The framework, with 1 control." in text
    newest = text.index("change requiredRetentionDays from 2 to 3")
    oldest = text.index("change requiredRetentionDays from 1 to 2")
    assert newest < oldest
    assert "Sync found a change" in text and "Sync found the framework gone" not in text


@pytest.fixture
def page_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(queries, "PAGE_SIZE", request.param)
    return request.param


@pytest.mark.parametrize("page_size", [3], indirect=True)
def test_the_history_is_paged_by_cursor(auditor, page_size):
    framework = make_live_framework(make_target(), "daily", controls=1)
    sync_rows(framework, 7)
    client = client_for(auditor)
    url = framework.get_absolute_url()
    seen = []
    for expected in ([7, 6, 5], [4, 3, 2], [1]):
        response = client.get(url)
        page = response.context["page"]
        assert [row.id for row in page.rows] == expected
        seen += expected
        if page.older:
            assert f'href="?before={page.older}"' in response.content.decode()
            url = f"{framework.get_absolute_url()}?before={page.older}"
    assert page.older is None and seen == [7, 6, 5, 4, 3, 2, 1]
    assert (
        client.get(f"{framework.get_absolute_url()}?before=bogus").context["page"].rows[0].id == 7
    )


def test_an_htmx_request_gets_only_the_history_fragment(auditor):
    framework = make_live_framework(make_target(), "daily", controls=1)
    sync_rows(framework, 2)
    response = client_for(auditor).get(
        f"{framework.get_absolute_url()}?before=2", HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert response.status_code == 200 and 'id="history"' in text
    assert "<html" not in text and "Controls" not in text


@pytest.mark.parametrize("page_size", [3, 10], indirect=True)
def test_the_framework_page_takes_the_same_queries_at_any_page_size(
    auditor, django_assert_num_queries, page_size
):
    framework = make_live_framework(make_target(), "daily", controls=1)
    sync_rows(framework, 12)
    client = client_for(auditor)
    # session, user, framework with its target, groups, target roles, history with versions,
    # the open changes to it, its administrators (the four-eyes notice)
    with django_assert_num_queries(8):
        response = client.get(framework.get_absolute_url())
    assert len(response.context["page"].rows) == page_size


# --- concurrent appends (PostgreSQL) --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    barrier = threading.Barrier(8)

    def append(i: int) -> None:
        barrier.wait()
        try:
            with transaction.atomic():
                history.append(Event.REFUSED, Actor.system(f"thread {i}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(HistoryEvent.objects.order_by("id").values_list("id", flat=True)) == list(
        range(1, 9)
    )
    assert history.verify() == (8, None)
