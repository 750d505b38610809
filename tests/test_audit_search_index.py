"""The audit page's full-text index keeps no pending list (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frameworks import exports
from frameworks.models import Event
from frameworks.queries import audit
from tests.audit_builders import raw, rows
from tests.factories import make_target

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_search_index_enters_each_row_as_it_is_written():
    """With GIN's pending list every search would read all of it until VACUUM: a rare word's
    search, a few pages otherwise, read hundreds (fastupdate off)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'history_search_idx'")
        (options,) = cursor.fetchone()
    assert "fastupdate=off" in (options or [])


def test_a_search_still_finds_rows_just_written():
    target = make_target("prod-eu")
    rows(3, target=target, event=Event.COMMENTED, details={"reason": "quarantine the vault"})
    rows(5, target=target)
    scope = audit.Scope([target], True, True)
    page = audit.audit_page(scope, audit.Filters(q="quarantine"))
    assert len(page.rows) == 3


@pytest.fixture
def analyzed():
    """Common words in most rows, a rare one in two, and the statistics ANALYZE keeps on them."""
    target = make_target("prod-eu")
    rows(400, target=target, event=Event.COMMENTED, details={"reason": "routine retention check"})
    rare = rows(2, target=target, event=Event.COMMENTED, details={"reason": "quarantine the vault"})
    rows(100, target=target, event=Event.COMMENTED, details={"reason": "routine retention check"})
    raw("ANALYZE frameworks_historyevent")
    return audit.Scope([target], True, True), rare


def is_rare(text: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT frameworks_history_search_is_rare(websearch_to_tsquery('english', %s))", [text]
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("text", "rare"),
    [
        ("zzyzx", True),  # in no row: the statistics do not list it
        ("retention", False),
        ("routine retention", False),
        ("retention zzyzx", True),  # both must match: no more rows than the rare one
        ("retention or zzyzx", False),  # either may: the planner's estimate decides
        ("retention -zzyzx", False),  # a word left out says nothing of how many match
        ('retention -"zzyzx vault"', False),
        ("the", True),  # only a stop word: the query matches nothing
    ],
)
def test_which_searches_read_the_index(analyzed, text, rare):
    """The app role is not the table's owner, so this also shows the function reads the
    statistics that PostgreSQL shows only to the owner."""
    assert is_rare(text) is rare


def page_query(scope: audit.Scope, text: str) -> tuple[str, str]:
    """The page's query for a search, and its plan as run."""
    with CaptureQueriesContext(connection) as captured:
        audit.audit_page(scope, audit.Filters(q=text))
    asked, page = captured.captured_queries  # which plan suits the words, then the page
    assert "frameworks_history_search_is_rare" in asked["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {page['sql']}")
        return page["sql"], "\n".join(line for (line,) in cursor.fetchall())


def test_a_word_in_no_row_is_looked_up_in_the_index_not_read_from_every_row(analyzed):
    sql, plan = page_query(analyzed[0], "zzyzx")
    assert 'ORDER BY ("frameworks_historyevent"."id" + 0) DESC' in sql
    assert "history_search_idx" in plan
    assert "frameworks_historyevent_pkey" not in plan


def test_a_common_word_keeps_the_primary_keys_order(analyzed):
    sql, _ = page_query(analyzed[0], "retention")
    assert sql.rstrip().endswith('ORDER BY "frameworks_historyevent"."id" DESC LIMIT 26'), sql


@pytest.mark.parametrize("text", ["quarantine", "zzyzx", "retention", "retention or zzyzx", "the"])
def test_either_plan_gives_the_rows_a_plain_query_gives(analyzed, text):
    scope, _ = analyzed
    expected = list(
        audit.filtered(scope, audit.Filters(q=text)).order_by("-id").values_list("id", flat=True)
    )
    shown: list[int] = []
    page = audit.audit_page(scope, audit.Filters(q=text))
    while True:
        shown += [row.id for row in page.rows]
        if page.older is None:
            break
        page = audit.audit_page(scope, audit.Filters(q=text), before=page.older)
    assert shown == expected
    if len(expected) > audit.PAGE_SIZE:  # and back again
        back = audit.audit_page(scope, audit.Filters(q=text), after=expected[audit.PAGE_SIZE])
        assert [row.id for row in back.rows] == expected[: audit.PAGE_SIZE]


@pytest.mark.parametrize("text", ["quarantine", "zzyzx", "retention"])
def test_an_export_of_a_search_has_the_rows_a_plain_query_gives(analyzed, text):
    scope, _ = analyzed
    expected = list(
        audit.filtered(scope, audit.Filters(q=text)).order_by("-id").values_list("id", flat=True)
    )
    chunks = exports.chunks(audit.filtered(scope, audit.Filters(q=text)), size=7, search=text)
    assert [row[0] for chunk in chunks for row in chunk] == expected
