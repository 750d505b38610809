"""Least privilege in PostgreSQL: the owner role migrates, the app role runs the product.

The owner role owns the schema: migrations run as it (``DATABASE_URL`` set to
``DATABASE_OWNER_URL`` for ``manage.py migrate``). The web, the workers and beat connect as the
app role, which owns nothing, so it can neither change the schema nor switch a table's triggers
off (both need ownership), and it is given:

* SELECT, INSERT, UPDATE and DELETE on the tables the product changes;
* only SELECT and INSERT on the append-only tables (every ``ImmutableModel``: the history, the
  document versions, the checkpoints), and only SELECT on ``django_migrations``;
* USAGE and SELECT on the sequences; no TRUNCATE, REFERENCES or TRIGGER anywhere; no CREATE on
  the schema;
* default privileges, so tables a later migration creates follow without a new grant (running
  ``db_roles`` again after each migrate takes UPDATE and DELETE back from new append-only
  tables; their triggers refuse those statements meanwhile).

``statements`` makes the SQL, ``manage.py db_roles`` prints or runs it. The deploy check and the
start-up warning (``warn_if_privileged``) say when the product itself is connected as a
superuser or as a role holding the history's owner's privileges: then the append-only triggers
are one ALTER TABLE away from whoever has the app's password.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core import checks
from django.db import DatabaseError, connections

from frameworks.models import HistoryEvent, ImmutableModel

log = logging.getLogger(__name__)

SCHEMA = "public"
#: Written by migrate only; the app reads it (``migrate --check``, the readiness check).
READ_ONLY_TABLES = ["django_migrations"]
#: SECURITY DEFINER functions the owner makes (revoked from PUBLIC) that the app role runs.
OWNERS_FUNCTIONS = ["frameworks_history_search_is_rare(tsquery)"]


def append_only_tables() -> list[str]:
    """Tables whose rows are written once and kept: every ImmutableModel's."""
    from django.apps import apps

    return sorted(
        model._meta.db_table for model in apps.get_models() if issubclass(model, ImmutableModel)
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_TAKE_OVER = (
    "DO $$ DECLARE r record; BEGIN "
    "FOR r IN SELECT c.relname, c.relkind FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') "
    "AND c.relowner <> '<owner>'::regrole LOOP "
    "EXECUTE format('ALTER %s %I OWNER TO %I', CASE r.relkind WHEN 'v' THEN 'VIEW' "
    "WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.relname, '<owner>'); END LOOP; "
    "FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public' AND p.proowner <> '<owner>'::regrole LOOP "
    "EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.signature, '<owner>'); "
    "END LOOP; END $$"
)


def create_statements(*, owner: str, app: str, database: str, passwords: bool = False) -> list[str]:
    """Create the two login roles (neither a superuser) and give the database to the owner:
    for a superuser, once. With `passwords`, ``ALTER ROLE ... PASSWORD`` takes each role's
    password as a parameter (%s), owner's first."""
    statements = []
    for role in (owner, app):
        literal = role.replace("'", "''")
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{literal}') "
            f"THEN CREATE ROLE {_quote(role)} LOGIN; END IF; END $$"
        )
        statements.append(
            f"ALTER ROLE {_quote(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            "NOREPLICATION NOBYPASSRLS" + (" PASSWORD %s" if passwords else "")
        )
    literal_owner = owner.replace("'", "''")
    statements += [
        f"ALTER DATABASE {_quote(database)} OWNER TO {_quote(owner)}",
        f"ALTER SCHEMA {SCHEMA} OWNER TO {_quote(owner)}",
        # A database migrated before by another role (a superuser, as compose used to): its
        # tables (their indexes and sequences follow) and functions become the owner's.
        _TAKE_OVER.replace("<owner>", literal_owner),
        # Before PostgreSQL 15 every role may create tables in public.
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC",
    ]
    return statements


def grant_statements(*, owner: str, app: str, database: str) -> list[str]:
    """The app role's grants on what exists, and default privileges for what the owner makes
    later. Run by the owner (or a superuser) after every migrate; running it twice is a no-op."""
    a, o = _quote(app), _quote(owner)
    tables = f"ALL TABLES IN SCHEMA {SCHEMA}"
    statements = [
        f"GRANT CONNECT ON DATABASE {_quote(database)} TO {a}",
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM {a}",
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {a}",
        f"REVOKE ALL ON {tables} FROM {a}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {a}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {a}",
    ]
    # Tables that do not exist yet (before the first migrate) are skipped: the run after it
    # takes the rights back.
    revokes = [(table, "UPDATE, DELETE") for table in append_only_tables()]
    revokes += [(table, "INSERT, UPDATE, DELETE") for table in READ_ONLY_TABLES]
    for table, rights in revokes:
        statements.append(
            f"DO $$ BEGIN IF to_regclass('{SCHEMA}.{table}') IS NOT NULL THEN "
            f"REVOKE {rights} ON {_quote(table)} FROM {a}; END IF; END $$"
        )
    for function in OWNERS_FUNCTIONS:
        statements.append(
            f"DO $$ BEGIN IF to_regprocedure('{SCHEMA}.{function}') IS NOT NULL THEN "
            f"GRANT EXECUTE ON FUNCTION {SCHEMA}.{function} TO {a}; END IF; END $$"
        )
    statements += [
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {SCHEMA} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {SCHEMA} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {a}",
    ]
    return statements


# --- is the product connected with too much? ------------------------------------------------


def privilege_problems(alias: str = "default") -> list[str]:
    """What is wrong with the role the connection `alias` uses, in words; [] when nothing is
    (or the database is not PostgreSQL)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        return problems_of_role(cursor)


def problems_of_role(cursor: Any) -> list[str]:
    """The same, asked through a DB-API cursor of a PostgreSQL connection."""
    table = HistoryEvent._meta.db_table
    cursor.execute(
        "SELECT current_user, r.rolsuper, c.relowner IS NOT NULL "
        "AND pg_has_role(current_user, c.relowner, 'USAGE') "
        "FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass(%s) "
        "WHERE r.rolname = current_user",
        [table],
    )
    row = cursor.fetchone()
    if row is None:
        return []
    role, superuser, owner = row
    if superuser:
        return [
            f"The database role {role!r} is a superuser: it can switch the history's "
            "append-only triggers off. Connect the web, workers and beat as the app role "
            '(manage.py db_roles; the README\'s "Database roles").'
        ]
    if owner:
        return [
            f"The database role {role!r} owns the history table ({table}) or holds its "
            "owner's privileges: it can change the schema and disable the append-only triggers. "
            "Migrate as the owner (DATABASE_OWNER_URL) and run the product as the app role "
            '(manage.py db_roles; the README\'s "Database roles").'
        ]
    return []


@checks.register(checks.Tags.database, deploy=True)
def check_database_role(
    app_configs: Sequence[Any] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """``check --deploy``: an error when the product connects with more than the app role.

    A deploy check asks the database even without ``--database``: it runs only when someone
    asks whether this deployment is fit for production, never on runserver or migrate.
    """
    messages: list[checks.CheckMessage] = []
    for alias in databases or ["default"]:
        try:
            problems = privilege_problems(alias)
        except DatabaseError as exc:
            messages.append(
                checks.Warning(
                    f"Could not ask the database which role the console connects as: {exc}",
                    id="frameworks.W101",
                )
            )
            continue
        messages += [checks.Error(problem, id="frameworks.E101") for problem in problems]
    return messages


def warn_if_privileged(alias: str = "default") -> None:
    """At start-up of the web, a worker or beat: log a warning for each problem. A database
    that cannot be reached now is not this check's concern (the readiness check says so)."""
    try:
        problems = privilege_problems(alias)
    except DatabaseError:
        return
    finally:
        connections[alias].close()
    for problem in problems:
        log.warning(problem)
