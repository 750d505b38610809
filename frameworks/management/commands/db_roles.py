"""Create the database's owner and app roles and give the app role only what it needs.

    # once, as a superuser: both roles, the database given to the owner, then the grants
    manage.py db_roles --create --owner-role backup_owner --app-role backup_app
    # after every migrate, as the owner: the grants on what migrate made
    manage.py db_roles --app-role backup_app
    # the SQL instead, for a DBA (psql -v owner_password=... -v app_password=... -f FILE)
    manage.py db_roles --create --owner-role backup_owner --app-role backup_app --print-sql

What is granted, and why, is in ``frameworks/dbroles.py``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from frameworks import dbroles

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Where --create reads the passwords it sets (nothing is set when a variable is absent).
PASSWORD_VARIABLES = {"owner": "DB_OWNER_PASSWORD", "app": "DB_APP_PASSWORD"}


def _role(value: str) -> str:
    if not ROLE_NAME.fullmatch(value):
        raise CommandError(
            f"A role name is lower-case letters, digits and _ (at most 63), not {value!r}"
        )
    return value


class Command(BaseCommand):
    help = (
        "Grant the app role (web, workers, beat) what it needs and no more; with --create, first "
        "create the owner and app roles (as a superuser). --print-sql prints the SQL instead."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app-role", required=True, type=_role)
        parser.add_argument(
            "--owner-role", type=_role, help="the role migrations run as (default: this one)"
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="create both roles (passwords from DB_OWNER_PASSWORD and DB_APP_PASSWORD) and "
            "make the owner own the database",
        )
        parser.add_argument("--print-sql", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are for PostgreSQL; DATABASE_URL names another.")
        app, database = options["app_role"], str(connection.settings_dict["NAME"])
        try:
            owner = options["owner_role"] or self._current_user()
            if owner == app:
                raise CommandError("The app role must not be the owner role.")
            work: list[tuple[str, list[str] | None]] = []
            if options["create"]:
                work += self._create(owner, app, database, printing=options["print_sql"])
            work += [
                (sql, None)
                for sql in dbroles.grant_statements(owner=owner, app=app, database=database)
            ]
            if options["print_sql"]:
                for sql, _ in work:
                    self.stdout.write(f"{sql};")
                return
            with connection.cursor() as cursor:
                for sql, params in work:
                    cursor.execute(sql, params)
        except DatabaseError as exc:
            raise CommandError(f"The database refused: {str(exc).strip()}") from None
        self.stdout.write(
            f"{app} may now read and write the console's rows in {database} "
            f"(append-only tables: read and add only); {owner} owns the schema."
        )

    def _current_user(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            return str(cursor.fetchone()[0])

    def _create(
        self, owner: str, app: str, database: str, *, printing: bool
    ) -> list[tuple[str, list[str] | None]]:
        passwords = {who: os.environ.get(var) for who, var in PASSWORD_VARIABLES.items()}
        with_passwords = printing or all(passwords.values())
        if any(passwords.values()) and not all(passwords.values()):
            raise CommandError("Set both DB_OWNER_PASSWORD and DB_APP_PASSWORD, or neither.")
        statements = dbroles.create_statements(
            owner=owner, app=app, database=database, passwords=with_passwords
        )
        work: list[tuple[str, list[str] | None]] = []
        order = iter(["owner", "app"])
        for sql in statements:
            if not sql.endswith(" PASSWORD %s"):
                work.append((sql, None))
                continue
            who = next(order)
            if printing:
                # psql variables: psql -v owner_password=... -v app_password=... -f roles.sql
                work.append((sql.removesuffix("%s") + f":'{who}_password'", None))
            else:
                work.append((sql, [str(passwords[who])]))
        return work
