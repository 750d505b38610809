"""Fixtures shared by every test: the roles, an emulator of AWS Backup, isolated AWS settings.

Tests that need PostgreSQL, Redis or Chromium skip on a bare laptop with one line saying how to
run them; under CI=true such a skip is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from frameworks import aws
from frameworks.models import Target
from tests import database

IN_CI = os.environ.get("CI") == "true"

# Processes the tests start (workers, servers, commands) never read the demo's .env: each test
# says what its processes see. A test of the file itself names one.
os.environ["ENV_FILE"] = ""
AXE_SOURCE = Path(__file__).parent / "e2e" / "js" / "node_modules" / "axe-core" / "axe.min.js"

ACCOUNT_1 = "111111111111"
ACCOUNT_2 = "222222222222"


def unavailable(reason: str) -> None:
    """Skip on a laptop, fail in CI: CI must run everything."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        unavailable(
            "needs PostgreSQL: run `make test-services` or set "
            "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test"
        )
    if item.get_closest_marker("redis") and not settings.CELERY_BROKER_URL.startswith("redis"):
        unavailable(
            "needs Redis: run `make test-services` or set CELERY_BROKER_URL=redis://127.0.0.1:6379/0"
        )
    if item.get_closest_marker("browser") and not chromium_path():
        unavailable("needs Chromium: apt-get install chromium (or set CHROMIUM_PATH)")
    if item.get_closest_marker("browser") and not AXE_SOURCE.exists():
        unavailable("needs axe-core: install Node.js and npm, then run `make install`")


# --- PostgreSQL: flushing past the append-only triggers ------------------------------------

_TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences"}


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool(_TRANSACTIONAL_FIXTURES & set(request.fixturenames))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """With DATABASE_OWNER_URL, the test database is created and migrated by the owner
    (tests/database.py); the tests themselves then connect as the app role."""
    if database.separate_owner():
        database.remember_roles()
        database.connect_as("owner")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    if not database.separate_owner():
        yield
        return
    with django_db_blocker.unblock():
        database.prepare_test_database()
    yield
    # pytest-django drops the test database after this, as the owner.
    database.connect_as("owner")


@pytest.fixture(autouse=True)
def _flush_past_append_only_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """A transactional test ends with a flush that TRUNCATEs every table, which the triggers of
    migration 0004 refuse for the history and the document versions (and the app role may not
    send at all). Just before that flush, the connection becomes the owner's (when the tests
    run as the app role) and stops firing triggers (session_replication_role = replica; only a
    superuser may, so production is not weakened). Django closes the connection right after
    the flush, so the next test starts as the app role with the triggers firing again.
    """
    database.connect_as("app")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not (
        _is_transactional(request)
    ):
        yield
        return
    # Set up after the database helper, so this teardown runs before its flush.
    request.getfixturevalue("_django_db_helper")
    yield
    database.connect_as("owner")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")


# --- AWS: a private credentials file with one profile per emulated account ------------------


@pytest.fixture(scope="session")
def aws_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("aws")
    (folder / "credentials").write_text(
        f"[acct1]\naws_access_key_id = {ACCOUNT_1}\naws_secret_access_key = test\n"
        f"[acct2]\naws_access_key_id = {ACCOUNT_2}\naws_secret_access_key = test\n"
    )
    (folder / "config").write_text("")
    return folder


@pytest.fixture(autouse=True)
def _isolated_aws(monkeypatch: pytest.MonkeyPatch, aws_files: Path) -> Iterator[None]:
    """Never read the developer's own AWS settings, never reach real AWS."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_files / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_files / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws.reset_clients()
    yield
    aws.reset_clients()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[object]:
    from backup_emulator.testing import running_emulator

    with running_emulator(deploy_seconds=0) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: object) -> object:
    """The emulator, emptied before each test."""
    emulator_server.control.reset()
    return emulator_server


@pytest.fixture
def target(db: None, emulator: object) -> Target:
    return Target.objects.create(
        slug="prod-eu",
        display_name="Production EU",
        region="eu-west-1",
        profile="acct1",
        endpoint_url=emulator.url,
    )


@pytest.fixture
def other_target(db: None, emulator: object) -> Target:
    return Target.objects.create(
        slug="dev-eu",
        display_name="Development EU",
        region="eu-west-1",
        profile="acct2",
        endpoint_url=emulator.url,
    )


# --- People: one user per role, and one with no role ---------------------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    """Tests make many users; the real hasher's deliberate slowness is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str, role: str | None) -> User:
    """A person for the role fixtures: `role` on every target, the password e2e tests log in
    with (cheap under the fast hasher above)."""
    from tests.factories import user

    return user(username, *([role] if role else []), password="password")


# One cast: each role has one fixture, and `people` names the same persons by their part in a
# review (the author is `editor`, the admin is `admin_user`), so a test may take either.


@pytest.fixture
def editor(db: None) -> User:
    return _user("erin", "editor")


@pytest.fixture
def approver(db: None) -> User:
    return _user("alice", "approver")


@pytest.fixture
def auditor(db: None) -> User:
    return _user("aud", "auditor")


@pytest.fixture
def admin_user(db: None) -> User:
    user = _user("adam", "admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def outsider(db: None) -> User:
    return _user("olive", None)


@pytest.fixture
def other_editor(db: None) -> User:
    return _user("eddie", "editor")


@pytest.fixture
def other_approver(db: None) -> User:
    return _user("abe", "approver")


@pytest.fixture
def people(
    editor: User,
    other_editor: User,
    approver: User,
    auditor: User,
    admin_user: User,
    outsider: User,
) -> dict:
    """The review's cast, around one target: its author and another editor, an approver, an
    auditor and an admin of every target, one user with no role, an approver of another target
    (`other_target`) only, and an admin of this target only."""
    from tests.factories import grant, make_target, user

    target = make_target("prod-eu")
    other = make_target("dev-eu")
    return {
        "target": target,
        "other_target": other,
        "author": editor,
        "other_editor": other_editor,
        "approver": approver,
        "auditor": auditor,
        "admin": admin_user,
        "outsider": outsider,
        "foreign_approver": grant(user("fred"), "approver", other),
        "target_admin": grant(user("tad"), "admin", target),
    }


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


ROLES = ["editor", "approver", "auditor", "admin_user", "outsider"]


@pytest.fixture(params=ROLES)
def role_client(request: pytest.FixtureRequest) -> tuple[str, Client]:
    """Parametrises a test over every role: (role fixture name, logged-in client)."""
    user = request.getfixturevalue(request.param)
    return request.param, client_for(user)
