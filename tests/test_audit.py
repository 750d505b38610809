"""The audit page: who sees what, the filters, keyset paging, one event, and that nothing here
changes the history."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from frameworks import history
from frameworks.history import Actor
from frameworks.models import (
    EVENT_GROUPS,
    Event,
    EventGroup,
    HistoryEvent,
    Outcome,
)
from frameworks.queries import audit
from tests.audit_builders import rows, set_time
from tests.conftest import client_for
from tests.factories import grant, make_target, user

pytestmark = pytest.mark.django_db


def ids_on(response) -> list[int]:
    return [int(i) for i in re.findall(r'href="/audit/events/(\d+)/"', response.content.decode())]


@pytest.fixture
def prod(db):
    return make_target("prod-eu", display_name="Production EU")


@pytest.fixture
def dev(db):
    return make_target("dev-eu", display_name="Development EU")


def test_every_event_belongs_to_exactly_one_group():
    assert set(EVENT_GROUPS) == set(Event.values)
    assert set(EVENT_GROUPS.values()) <= set(EventGroup.values)


# --- who sees what ---------------------------------------------------------------------------


def test_each_role_sees_exactly_the_targets_it_may_view(prod, dev, auditor, admin_user, editor):
    mine = rows(2, target=prod)
    theirs = rows(2, target=dev)
    nobodys = rows(1, target=None, event=Event.EXPORTED)
    per_target = grant(user("petra"), "auditor", prod)
    seen = {
        "auditor": ids_on(client_for(auditor).get("/audit/")),
        "admin": ids_on(client_for(admin_user).get("/audit/")),
        "editor": ids_on(client_for(editor).get("/audit/")),
        "per-target auditor": ids_on(client_for(per_target).get("/audit/")),
    }
    everything = sorted(mine + theirs + nobodys, reverse=True)
    assert seen["auditor"] == everything
    assert seen["admin"] == everything
    # An editor of every target sees every target's rows but not sign-ins, grants or exports.
    assert seen["editor"] == sorted(mine + theirs, reverse=True)
    assert seen["per-target auditor"] == sorted(mine, reverse=True)


def test_someone_without_a_role_is_refused_and_a_stranger_sent_to_log_in(client, outsider):
    assert client_for(outsider).get("/audit/").status_code == 403
    assert client.get("/audit/").status_code == 302


def test_the_detail_is_404_for_a_row_the_person_may_not_see(prod, dev):
    (theirs,) = rows(1, target=dev)
    (nobodys,) = rows(1, target=None, event=Event.EXPORTED)
    petra = client_for(grant(user("petra"), "auditor", prod))
    assert petra.get(f"/audit/events/{theirs}/").status_code == 404
    assert petra.get(f"/audit/events/{nobodys}/").status_code == 404
    assert petra.get("/audit/events/999999/").status_code == 404


def test_nobody_can_change_history_through_any_audit_url(prod, auditor, admin_user):
    (row,) = rows(1, target=prod)
    before = list(HistoryEvent.objects.values_list("id", "row_hash"))
    for who in (auditor, admin_user):
        client = client_for(who)
        for url in ("/audit/", f"/audit/events/{row}/", "/audit/export.csv", "/audit/export.jsonl"):
            for method in ("post", "put", "patch", "delete"):
                assert getattr(client, method)(url).status_code == 405, (method, url)
    assert list(HistoryEvent.objects.values_list("id", "row_hash")) == before


# --- filters ---------------------------------------------------------------------------------


@pytest.fixture
def varied(prod, dev):
    """Rows that differ in one way each, so every filter has something to keep and to drop."""
    made = {
        "prod-daily-review": rows(1, target=prod, framework="daily"),
        "prod-weekly-review": rows(1, target=prod, framework="weekly"),
        "dev-daily-review": rows(1, target=dev, framework="daily"),
        "prod-daily-apply-error": rows(
            1,
            target=prod,
            framework="daily",
            event=Event.ATTEMPT_FAILED,
            outcome=Outcome.ERROR,
            actor=Actor.worker("host:1:abc"),
            details={"error": {"message": "Rate exceeded for the vault", "code": "Throttling"}},
        ),
        "prod-daily-sync-outside": rows(
            1,
            target=prod,
            framework="daily",
            event=Event.SYNC_CHANGED,
            actor=Actor.sync(),
            details={"outside_console": True},
        ),
        "comment": rows(
            1,
            target=dev,
            framework="weekly",
            event=Event.COMMENTED,
            actor=Actor("user", "alice"),
            details={"comment": "Please keep the retention at thirty five days"},
        ),
    }
    old = rows(1, target=prod, framework="daily", details={"reason": "an old one"})
    set_time(old, timezone.now() - timedelta(days=40))
    made["old"] = old
    return {key: value[0] for key, value in made.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "target=prod-eu",
            [
                "prod-daily-review",
                "prod-weekly-review",
                "prod-daily-apply-error",
                "prod-daily-sync-outside",
                "old",
            ],
        ),
        ("framework=weekly", ["prod-weekly-review", "comment"]),
        ("actor=alice", ["comment"]),
        ("actor=worker", ["prod-daily-apply-error"]),
        ("kind=apply", ["prod-daily-apply-error"]),
        ("kind=sync", ["prod-daily-sync-outside"]),
        ("outcome=error", ["prod-daily-apply-error"]),
        ("outside=1", ["prod-daily-sync-outside"]),
        ("q=rate+exceeded", ["prod-daily-apply-error"]),
        ("q=thirty", ["comment"]),
        ("q=old", ["old"]),
        ("target=prod-eu&framework=daily&kind=review", ["prod-daily-review", "old"]),
        ("target=prod-eu&framework=daily&kind=review&since={recent}", ["prod-daily-review"]),
        ("until={long_ago}", ["old"]),
        ("target=dev-eu&actor=erin", ["dev-daily-review"]),
    ],
)
def test_filters_alone_and_combined(varied, auditor, query, expected):
    today = timezone.now().date()
    query = query.format(
        recent=(today - timedelta(days=30)).isoformat(),
        long_ago=(today - timedelta(days=35)).isoformat(),
    )
    response = client_for(auditor).get(f"/audit/?{query}")
    assert response.status_code == 200
    assert ids_on(response) == sorted((varied[name] for name in expected), reverse=True)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("since=yesterday", "From (UTC): Enter a valid date."),
        ("kind=nonsense", "Event kind: Select a valid choice."),
        ("target=nowhere", "Account and Region: Select a valid choice."),
        ("since=2026-03-02&until=2026-03-01", "The end of the date range is before its start."),
        (
            "q=" + "x" * 300,
            "Search reasons, comments and AWS errors: This text is 300 characters long; at "
            "most 200 are kept.",
        ),
        ("before=abc&after=-1", None),
        ("before=99999999999999999999999", None),
    ],
)
def test_a_bad_filter_is_named_and_never_a_500(varied, auditor, query, words):
    response = client_for(auditor).get(f"/audit/?{query}")
    assert response.status_code == 200
    if words:
        assert words in response.content.decode()


def test_the_filter_form_is_a_get_form_and_htmx_gets_only_the_results(varied, auditor):
    client = client_for(auditor)
    page = client.get("/audit/?kind=apply").content.decode()
    assert 'method="get"' in page and 'hx-push-url="true"' in page
    fragment = client.get("/audit/?kind=apply", headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<section id="results"')
    assert ids_on(fragment) == [varied["prod-daily-apply-error"]]
    # The export links carry the same filter.
    assert "/audit/export.csv?kind=apply" in fragment.content.decode()
    # Both answers vary on HX-Request, so going back never shows the fragment as the page.
    assert "HX-Request" in fragment["Vary"]
    assert "HX-Request" in client.get("/audit/?kind=apply")["Vary"]


# --- paging ----------------------------------------------------------------------------------


def _links(response) -> dict[str, str]:
    text = response.content.decode()
    return {
        name: href.replace("&amp;", "&")
        for href, name in re.findall(r'<a href="(\?[^"]*)"[^>]*>(Newest|Newer|Older)</a>', text)
    }


def test_paging_forwards_and_back_has_no_gap_or_repeat_while_new_events_arrive(prod, auditor):
    made = rows(80, target=prod)
    client = client_for(auditor)
    first = client.get("/audit/?target=prod-eu")
    pages = [ids_on(first)]
    response = first
    while "Older" in _links(response):
        rows(3, target=prod)  # new events keep arriving while the auditor reads
        response = client.get("/audit/" + _links(response)["Older"])
        pages.append(ids_on(response))
    forwards = [i for page in pages for i in page]
    assert forwards == sorted(made, reverse=True)
    assert [len(p) for p in pages] == [25, 25, 25, 5]
    # And back again, page by page, to the first page as it was.
    back = [pages[-1]]
    while "Newer" in _links(response) and len(back) < len(pages):
        response = client.get("/audit/" + _links(response)["Newer"])
        back.append(ids_on(response))
    assert back[1:] == list(reversed(pages[:-1]))
    # The first page reached backwards offers the rows that arrived meanwhile.
    assert "Newer" in _links(response)


@pytest.mark.parametrize("size", [30, 300])
def test_the_page_takes_the_same_queries_at_any_size(
    prod, dev, auditor, size, django_assert_num_queries
):
    rows(size, target=prod)
    rows(size, target=dev)
    client = client_for(auditor)
    client.get("/audit/")  # the session is read and cached like on any page
    # session, user, groups, target roles, targets, rows, latest checkpoint, review nav
    with django_assert_num_queries(7):
        response = client.get("/audit/?kind=review&target=prod-eu")
    assert len(ids_on(response)) == 25


@pytest.mark.parametrize("size", [5, 50])
def test_the_detail_takes_the_same_queries_at_any_size(
    prod, auditor, size, django_assert_num_queries
):
    with history.correlation("one-request"):
        made = rows(size, target=prod, event=Event.ATTEMPT_STARTED)
    client = client_for(auditor)
    client.get("/audit/")
    # session, user, groups, target roles, targets, the row with its versions, the related rows
    with django_assert_num_queries(7):
        response = client.get(f"/audit/events/{made[0]}/")
    assert response.status_code == 200
    assert "one-request" in response.content.decode()
    assert len(re.findall(r'href="/audit/events/\d+/"', response.content.decode())) == size - 1


def test_the_detail_shows_the_request_answer_and_the_chain(prod, auditor):
    details = {
        "attempt": 2,
        "request": {
            "operation": "UpdateFramework",
            "FrameworkName": "daily",
            "IdempotencyToken": "change-7-abc",
        },
        "response": {"FrameworkArn": "arn:aws:backup:eu-west-1:111111111111:framework:daily"},
        "request_id": "req-123",
        "duration_ms": 41,
    }
    (pk,) = rows(1, target=prod, event=Event.ATTEMPT_SUCCEEDED, details=details)
    row = HistoryEvent.objects.get(pk=pk)
    text = client_for(auditor).get(f"/audit/events/{pk}/").content.decode()
    for expected in (
        "UpdateFramework",
        "change-7-abc",
        "req-123",
        "41 ms",
        row.row_hash,
        row.prev_hash,
        "Attempt succeeded",
    ):
        assert expected in text


# --- exports ---------------------------------------------------------------------------------


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_an_export_equals_the_pages_rows_in_the_same_order_and_is_recorded(varied, auditor):
    client = client_for(auditor)
    page_ids = ids_on(client.get("/audit/?target=prod-eu"))
    response = client.get("/audit/export.csv?target=prod-eu")
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(_body(response))))
    assert [int(r["id"]) for r in table] == page_ids
    assert {"row_hash", "prev_hash", "details", "event_words", "event_kind"} <= set(table[0])
    record = HistoryEvent.objects.order_by("-id").first()
    assert record.event == Event.EXPORTED and record.actor_name == auditor.username
    assert record.details == {"format": "csv", "filters": {"target": "prod-eu"}}
    lines = _body(client.get("/audit/export.jsonl?target=prod-eu")).splitlines()
    assert [json.loads(line)["id"] for line in lines] == page_ids


def test_every_exported_row_can_be_rehashed_from_its_columns(varied, auditor):
    from frameworks.evidence_verify import row_hash

    lines = _body(client_for(auditor).get("/audit/export.jsonl")).splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert row_hash(record) == record["row_hash"]


@pytest.mark.parametrize("microsecond", [0, 1, 250000, 123456, 999999, 100])
def test_the_csvs_times_are_what_the_hash_covers_whatever_the_fraction(prod, auditor, microsecond):
    """The CSV reads ``created_at`` as the database's text: it must still be written exactly
    as the row's hash covers it (``isoformat`` in UTC, no fraction when it is zero)."""
    when = (timezone.now() - timedelta(days=2)).replace(microsecond=microsecond)
    set_time(rows(2, target=prod), when)
    table = list(csv.DictReader(io.StringIO(_body(client_for(auditor).get("/audit/export.csv")))))
    hashed = {r.pk: history.canonical(r)["created_at"] for r in HistoryEvent.objects.all()}
    assert table
    assert all(r["created_at"] == hashed[int(r["id"])] for r in table)
    assert sum(r["created_at"] == when.astimezone(UTC).isoformat() for r in table) == 2


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01 09:30:00+00",
        "2026-03-01 09:30:00.25+00",
        "2026-03-01 09:30:00.000001+00",
        "2026-03-01 09:30:00.250000",
        "2026-03-01 09:30:00",
        "2026-03-01 11:30:00.5+02",
        "2026-03-01 09:30:00.5+00:00",
    ],
)
def test_a_stamp_read_as_text_is_written_as_isoformat_in_utc(text):
    from frameworks.exports import stamp

    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    assert stamp(text) == moment.astimezone(UTC).isoformat()


def test_an_export_shows_each_role_only_what_it_may_view(prod, dev):
    mine = rows(3, target=prod)
    rows(3, target=dev)
    petra = client_for(grant(user("petra"), "auditor", prod))
    exported = [
        json.loads(line)["id"] for line in _body(petra.get("/audit/export.jsonl")).splitlines()
    ]
    assert exported == sorted(mine, reverse=True)


@pytest.mark.parametrize("size", [50, 500])
def test_each_export_chunk_is_one_query(
    prod, auditor, size, django_assert_num_queries, monkeypatch
):
    from frameworks import exports

    monkeypatch.setattr(exports, "CHUNK", 10)
    rows(size, target=prod)
    scope = audit.audit_scope(auditor)
    generator = exports.jsonl_chunks(scope, audit.Filters(), below=10**9)
    with django_assert_num_queries(2):  # the targets, then the first chunk
        next(generator)
    with django_assert_num_queries(1):
        next(generator)
