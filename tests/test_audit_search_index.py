"""The audit page's full-text index keeps no pending list (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from frameworks.models import Event
from frameworks.queries import audit
from tests.audit_builders import rows
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
