"""Settings come from the environment, and a bad value stops the process with its name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config import settings as config


def load(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter (not under pytest) with this environment."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}
    }
    # Never the demo's .env: each test says exactly what is set.
    clean["ENV_FILE"] = ""
    # Production needs the console's address (for e-mail links); each test may set its own.
    clean["SITE_URL"] = "https://backup.example.com"
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; print(s.DATABASES['default']['ENGINE'])",
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    done = load()
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


def test_debug_runs_on_sqlite_with_nothing_set(tmp_path):
    done = load(DEBUG="1", DATA_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "django.db.backends.sqlite3"


def test_database_url_selects_postgresql():
    done = load(SECRET_KEY="x" * 50, DATABASE_URL="postgresql://u:p@db:5432/frameworks")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("SYNC_INTERVAL_SECONDS", "soon", "SYNC_INTERVAL_SECONDS must be a whole number"),
        ("SYNC_INTERVAL_SECONDS", "1", "SYNC_INTERVAL_SECONDS must be at least 10"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be a postgresql://"),
        ("CELERY_BROKER_URL", "amqp://x", "CELERY_BROKER_URL must be"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, message):
    env = {"SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path), name: value}
    done = load(**env)
    assert done.returncode != 0
    assert message in done.stderr


def test_the_helpers_parse_what_they_promise(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", " a.example, b.example ,,")
    assert config.envbool("X_BOOL", False) is True
    assert config.envint("X_INT", 0, minimum=1) == 42
    assert config.envlist("X_LIST", []) == ["a.example", "b.example"]
    assert config.envint("X_MISSING", 7) == 7


def test_the_beat_schedule_names_a_registered_task():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks
