"""Least privilege in PostgreSQL: what the app role may not do, the owner meeting the
append-only triggers, default privileges for new tables, and the deploy check and start-up
warning about a connection with too much. Under CI the suite connects as the app role
(tests/database.py); with no DATABASE_OWNER_URL these tests skip."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from io import StringIO

import psycopg
import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from frameworks import dbroles
from tests import database
from tests.conftest import unavailable

HISTORY = "frameworks_historyevent"


@pytest.fixture
def as_app_role(db: None) -> None:
    if connection.vendor != "postgresql":
        unavailable("needs PostgreSQL: set DATABASE_URL (the app role) and DATABASE_OWNER_URL")
    if not database.separate_owner():
        unavailable("needs DATABASE_OWNER_URL: the tests connect as the app role only with it")


@pytest.fixture
def owner_connection(as_app_role: None) -> Iterator[psycopg.Connection]:
    """A connection of its own to the test database, as the owner (it sees committed rows)."""
    owner = database._roles["owner"]
    with psycopg.connect(
        host=owner["HOST"] or "127.0.0.1",
        port=owner["PORT"] or 5432,
        user=owner["USER"],
        password=owner["PASSWORD"] or None,
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as conn:
        yield conn


def refused(sql: str) -> str:
    """The database's words when the app role sends `sql` (which must fail)."""
    with pytest.raises(DatabaseError) as raised, transaction.atomic(), connection.cursor() as c:
        c.execute(sql)
    return str(raised.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE frameworks_historyevent SET actor_name = 'mallory'",
        "DELETE FROM frameworks_historyevent",
        "TRUNCATE frameworks_historyevent",
        "UPDATE frameworks_documentversion SET content_hash = ''",
        "TRUNCATE frameworks_target CASCADE",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
    ],
)
def test_the_app_role_cannot_change_remove_or_empty_what_is_kept(as_app_role, sql):
    assert "permission denied" in refused(sql)


@pytest.mark.postgres
def test_the_app_role_cannot_switch_the_history_triggers_off(as_app_role):
    words = refused(f"ALTER TABLE {HISTORY} DISABLE TRIGGER ALL")
    assert "must be owner" in words
    assert "must be owner" in refused(f"DROP TRIGGER {HISTORY}_append_only ON {HISTORY}")
    assert "permission denied" in refused("SET session_replication_role = replica")


@pytest.mark.postgres
def test_the_app_role_cannot_change_the_schema(as_app_role):
    assert "permission denied" in refused("CREATE TABLE mallory (id int)")
    assert "must be owner" in refused("ALTER TABLE frameworks_target ADD COLUMN x int")
    assert "must be owner" in refused("DROP TABLE frameworks_target")


@pytest.mark.postgres
def test_the_app_role_reads_and_appends_the_history(as_app_role):
    from frameworks import history
    from frameworks.history import Actor
    from frameworks.models import Event, HistoryEvent

    row = history.append(Event.EXPORTED, Actor.system("test"))
    assert HistoryEvent.objects.get(pk=row.pk).row_hash == row.row_hash


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql", ["UPDATE frameworks_historyevent SET id = id", "TRUNCATE frameworks_historyevent"]
)
def test_even_the_owner_meets_the_append_only_triggers(owner_connection, sql):
    with pytest.raises(psycopg.Error, match="refused"):
        owner_connection.execute(sql)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tables_the_owner_creates_later_follow_the_default_privileges(owner_connection):
    table = f"tests_later_{os.getpid()}"
    owner_connection.execute(f"CREATE TABLE {table} (id int)")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} VALUES (1)")  # noqa: S608 - a constant
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone() == (1,)
        assert "permission denied" in refused(f"TRUNCATE {table}")
    finally:
        owner_connection.execute(f"DROP TABLE {table}")


# --- the deploy check and the start-up warning ---------------------------------------------


def database_errors() -> list[checks.CheckMessage]:
    return checks.run_checks(
        include_deployment_checks=True, tags=[checks.Tags.database], databases=["default"]
    )


@pytest.mark.postgres
def test_the_deploy_check_passes_for_the_app_role(as_app_role):
    assert [m for m in database_errors() if m.id.startswith("frameworks.")] == []
    assert dbroles.privilege_problems() == []


@pytest.mark.postgres
def test_the_check_names_a_superuser_and_an_owner_of_the_history(owner_connection):
    with owner_connection.cursor() as cursor:
        [superuser] = dbroles.problems_of_role(cursor)
    assert "is a superuser" in superuser
    # A role that owns the history table, but is no superuser: tried and rolled back.
    owner_connection.autocommit = False
    with owner_connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        cursor.execute("CREATE ROLE tests_history_owner NOLOGIN")
        cursor.execute(f"ALTER TABLE {HISTORY} OWNER TO tests_history_owner")
        cursor.execute("SET LOCAL ROLE tests_history_owner")
        [owner] = dbroles.problems_of_role(cursor)
    owner_connection.rollback()
    assert "'tests_history_owner' owns the history table" in owner


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_check_deploy_and_the_start_up_warning_report_a_superuser_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not database.separate_owner():
        unavailable("needs DATABASE_OWNER_URL: the tests connect as the app role only with it")
    dbroles.warn_if_privileged()
    assert caplog.records == []
    database.connect_as("owner")
    try:
        with caplog.at_level(logging.WARNING, logger="frameworks.dbroles"):
            dbroles.warn_if_privileged()
        [record] = caplog.records
        assert "is a superuser" in record.getMessage()
        [error] = [m for m in database_errors() if m.id == "frameworks.E101"]
        assert error.level == checks.ERROR
        with pytest.raises(CommandError, match=r"frameworks\.E101"):
            call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())
    finally:
        database.connect_as("app")


# --- the command ---------------------------------------------------------------------------


def grants() -> list[str]:
    return dbroles.grant_statements(owner="backup_owner", app="backup_app", database="frameworks")


def test_the_grants_keep_the_append_only_tables_append_only() -> None:
    sql = "\n".join(grants())
    for table in ("frameworks_historyevent", "frameworks_documentversion"):
        assert f'REVOKE UPDATE, DELETE ON "{table}" FROM "backup_app"; END IF' in sql
    assert "TRUNCATE" not in sql and "TRIGGER" not in sql and "ALL PRIVILEGES" not in sql
    assert 'REVOKE CREATE ON SCHEMA public FROM "backup_app"' in sql
    assert (
        'ALTER DEFAULT PRIVILEGES FOR ROLE "backup_owner" IN SCHEMA public '
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "backup_app"'
    ) in sql


def test_the_roles_are_made_without_superuser_rights() -> None:
    sql = dbroles.create_statements(
        owner="backup_owner", app="backup_app", database="frameworks", passwords=True
    )
    alters = [s for s in sql if s.startswith("ALTER ROLE")]
    assert len(alters) == 2
    assert all("NOSUPERUSER NOCREATEDB NOCREATEROLE" in s and "%s" in s for s in alters)
    assert 'ALTER DATABASE "frameworks" OWNER TO "backup_owner"' in sql


@pytest.mark.postgres
def test_db_roles_prints_the_sql_with_psql_variables_for_passwords(as_app_role):
    out = StringIO()
    call_command(
        "db_roles",
        "--create",
        "--owner-role",
        "backup_owner",
        "--app-role",
        "backup_app",
        "--print-sql",
        stdout=out,
    )
    text = out.getvalue()
    assert "PASSWORD :'owner_password';" in text and "PASSWORD :'app_password';" in text
    assert 'GRANT USAGE ON SCHEMA public TO "backup_app";' in text


@pytest.mark.postgres
def test_only_the_app_role_runs_the_owners_functions(as_app_role):
    """frameworks_history_search_is_rare reads statistics only the owner may see."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_function_privilege(current_user, %s, 'EXECUTE'), "
            "EXISTS (SELECT FROM pg_proc p, aclexplode(p.proacl) a "
            "WHERE p.oid = to_regprocedure(%s) AND a.grantee = 0)",
            [dbroles.OWNERS_FUNCTIONS[0]] * 2,
        )
        assert cursor.fetchone() == (True, False)


def test_the_app_role_cannot_grant_itself_more(as_app_role):
    with pytest.raises(CommandError, match="The database refused"), transaction.atomic():
        call_command("db_roles", "--app-role", "mallory", "--owner-role", "postgres")


def test_db_roles_refuses_a_bad_role_name_and_sqlite() -> None:
    with pytest.raises(CommandError, match="lower-case letters"):
        call_command("db_roles", "--app-role", 'x"; DROP', "--print-sql")
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="for PostgreSQL"):
            call_command("db_roles", "--app-role", "backup_app", "--print-sql")
