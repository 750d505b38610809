"""An export longer than gunicorn's worker timeout still completes, served as the image serves
it (config/gunicorn.py). A sync worker with the same timeout is killed in the middle of this
request (its arbiter sees no heartbeat while the request waits), which is what the settings are
for. The export is held up for longer than the timeout by a lock the test takes
on the history table (PostgreSQL), so the outcome does not depend on the machine's speed."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
ROWS = 3000

SEED = f"""
from django.contrib.auth.models import Group, User
from tests.audit_builders import rows
from tests.factories import make_target
user = User.objects.create_user("aud", "aud@example.com", "a long password 123")
user.groups.add(Group.objects.get(name="auditor"))
rows({ROWS}, target=make_target(), details={{"reason": "why " * 20}})
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL")  # turned into a failure in CI by the marker's hook
    # A database of its own, made and used by the owner (it is about gunicorn, not grants).
    base = (settings.DATABASE_OWNER_URL or os.environ["DATABASE_URL"]).rsplit("/", 1)[0]
    name = f"{settings.DATABASES['default']['NAME']}_gunicorn"
    url = f"{base}/{name}"
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    folder = tmp_path_factory.mktemp("gunicorn")
    env = {
        **os.environ,
        # DEBUG only spares collectstatic; the worker class and timeout are what is tested.
        "DEBUG": "1",
        "SECRET_KEY": "test-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATA_DIR": str(folder),
        "DATABASE_URL": url,
        "SECURE_COOKIES": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True)
    return env


def _serve(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            "-c",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "2",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            requests.get(url + "/accounts/login/", timeout=10)
            return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("gunicorn did not start")


def _slow_download(url: str, database_url: str) -> int:
    """Log in, then export while the history table is locked for longer than the worker
    timeout: the number of complete rows received."""
    import threading

    import psycopg

    session = requests.Session()
    login = session.get(url + "/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    session.post(
        url + "/accounts/login/",
        data={"username": "aud", "password": "a long password 123", "csrfmiddlewaretoken": token},
        timeout=10,
    )
    received = b""
    locked = threading.Event()

    def hold_the_lock() -> None:
        with psycopg.connect(database_url) as connection:
            connection.execute("LOCK TABLE frameworks_historyevent IN EXCLUSIVE MODE")
            locked.set()
            time.sleep(5)  # longer than --timeout 2; the commit releases it

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    locked.wait(10)
    try:
        with session.get(url + "/audit/export.jsonl", stream=True, timeout=30) as response:
            if response.status_code == 200:
                for chunk in response.iter_content(64 * 1024):
                    received += chunk
    except requests.RequestException:
        pass  # the connection was cut: count what arrived
    holder.join()
    return received.count(b"\n") if received.endswith(b"\n") else received.count(b"\n") - 1


def test_an_export_longer_than_the_worker_timeout_completes_through_gunicorn(site):
    process, url = _serve(site, "-c", "config/gunicorn.py")
    try:
        # Every seeded row (and the record of an earlier export, if any) arrived.
        assert _slow_download(url, site["DATABASE_URL"]) >= ROWS
    finally:
        process.terminate()
        process.wait(timeout=10)
