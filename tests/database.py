"""The PostgreSQL test database as production has it: created, migrated and flushed by the
owner role, used by the tests as the app role (frameworks/dbroles.py), so a grant the product
needs and lacks fails a test. Set DATABASE_URL to the app role and DATABASE_OWNER_URL to a
superuser (`.ci/run` does); without DATABASE_OWNER_URL the tests use DATABASE_URL for all.

Tests that play "a database superuser" tampering with the history go through
``superuser_cursor``: the same transaction (so they see the test's rows), with the owner's
rights, by a SECURITY DEFINER function that exists only in the test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dj_database_url
from django.conf import settings
from django.db import connection

from frameworks import dbroles

FUNCTION = "tests_as_superuser"
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")
_roles: dict[str, dict[str, Any]] = {}


def separate_owner() -> bool:
    """Whether the tests connect as an app role other than the owner."""
    owner_url = settings.DATABASE_OWNER_URL
    default = settings.DATABASES["default"]
    if not owner_url or default["ENGINE"] != "django.db.backends.postgresql":
        return False
    if _roles:
        return True
    return dj_database_url.parse(owner_url).get("USER") != default.get("USER")


def remember_roles() -> None:
    """Keep both sets of credentials (before pytest-django makes the test database)."""
    app = connection.settings_dict
    owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
    _roles["app"] = {key: app.get(key) for key in _CREDENTIALS}
    _roles["owner"] = {key: owner.get(key) for key in _CREDENTIALS}


def connect_as(who: str) -> None:
    """Point the default connection at the `who` role's credentials (closing it if it changes)."""
    if not _roles:
        return
    wanted = _roles[who]
    if any(connection.settings_dict.get(key) != value for key, value in wanted.items()):
        connection.close()
        connection.settings_dict.update(wanted)


def app_role() -> str:
    return str(_roles["app"]["USER"])


def prepare_test_database() -> None:
    """As the owner, in the new test database: the app role (made if missing), its grants, and
    the tests' superuser function."""
    connect_as("owner")
    app = app_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE ROLE "{app}" LOGIN')
        for sql in dbroles.grant_statements(
            owner=owner, app=app, database=connection.settings_dict["NAME"]
        ):
            cursor.execute(sql)
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {FUNCTION}(statement text) RETURNS void "
            "LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN "
            "PERFORM set_config('session_replication_role', 'replica', true); "
            "EXECUTE statement; "
            "PERFORM set_config('session_replication_role', 'origin', true); END $$"
        )
        cursor.execute(f"REVOKE ALL ON FUNCTION {FUNCTION}(text) FROM PUBLIC")
        cursor.execute(f'GRANT EXECUTE ON FUNCTION {FUNCTION}(text) TO "{app}"')
    connect_as("app")


class _SuperuserCursor:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> None:
        if _roles and connection.settings_dict.get("USER") == _roles["app"]["USER"]:
            statement = connection.ops.compose_sql(sql, params) if params else sql
            self.cursor.execute(f"SELECT {FUNCTION}(%s)", [statement])
            return
        if connection.vendor == "postgresql":
            self.cursor.execute("SET session_replication_role = replica")
        self.cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            self.cursor.execute("SET session_replication_role = DEFAULT")


@contextmanager
def superuser_cursor() -> Iterator[_SuperuserCursor]:
    """Raw SQL with the append-only triggers off, as a database superuser could send it."""
    with connection.cursor() as cursor:
        yield _SuperuserCursor(cursor)
