"""/healthz, /readyz and /metrics: no login, what each says when the database or broker is down
or migrations are missing, and the metrics of a stuck change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from frameworks import history, metrics, services
from frameworks.models import ChangeState, Event
from tests.factories import live_framework, make_target, set_state, submitted

ROOT = Path(__file__).resolve().parent.parent


def fresh_process_get(path: str, tmp_path: Path, **env: str) -> tuple[int, dict[str, Any]]:
    """GET `path` in a new process with only these settings: a real database or broker that is
    not there, not a mocked one."""
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        f"r = Client().get({path!r}); print(r.status_code); print(json.dumps(r.json()))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "CELERY"))}
    clean.update(
        DEBUG="1",
        DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        ALLOWED_HOSTS="testserver",
        **env,
    )
    clean["ENV_FILE"] = str(tmp_path / "none.env")
    (tmp_path / "none.env").write_text("")
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    return int(out[0]), json.loads(out[1])


def test_healthz_answers_without_a_login(db: None) -> None:
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_when_database_migrations_and_broker_are(db: None) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "ok", "broker": "ok"}


def test_readyz_says_the_broker_is_down(db: None, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["database"] == "ok"
    assert body["broker"].startswith("the broker does not answer")


def test_readyz_says_the_database_is_down(tmp_path: Path) -> None:
    status, body = fresh_process_get(
        "/readyz", tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:9/nothing"
    )
    assert status == 503
    assert body["database"].startswith("the database does not answer")
    assert body["migrations"] == "not checked"


def test_readyz_says_migrations_are_missing(tmp_path: Path) -> None:
    status, body = fresh_process_get("/readyz", tmp_path)  # a new SQLite file, never migrated
    assert status == 503
    assert body["database"] == "ok"
    assert "migration(s) not applied" in body["migrations"]
    assert "run manage.py migrate" in body["migrations"]


# --- metrics -------------------------------------------------------------------------------


def scrape(client: Client | None = None, **headers: str) -> str:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def metric(text: str, name: str) -> float:
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name)))


def test_metrics_show_a_stuck_change(
    db: None, editor: User, approver: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_target("prod-eu", last_synced_at=timezone.now() - timedelta(minutes=5))
    make_target("new-eu")
    change = submitted(editor, live_framework(target))
    services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.proposed_version.content_hash
    )
    # Two hours pass and no worker applies it.
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(metrics.timezone, "now", lambda: later)
    text = scrape()
    assert 'backup_frameworks_changes{state="approved"} 1.0' in text
    assert 'backup_frameworks_changes{state="applied"} 0.0' in text
    assert 7200 <= metric(text, "backup_frameworks_oldest_approved_change_age_seconds ") < 7260
    sync_age = metric(text, 'backup_frameworks_sync_age_seconds{target="prod-eu"}')
    assert 7500 <= sync_age < 7560
    assert 'backup_frameworks_target_never_synced{target="new-eu"} 1.0' in text
    assert "backup_frameworks_queue_depth{" in text


def test_no_approved_change_reads_as_zero_age(db: None) -> None:
    assert metric(scrape(), "backup_frameworks_oldest_approved_change_age_seconds ") == 0


def test_metrics_count_apply_errors_by_code(db: None, editor: User) -> None:
    change = set_state(submitted(editor, live_framework(make_target())), ChangeState.APPLYING)
    for code in ["ThrottlingException", "ThrottlingException", "AccessDeniedException"]:
        history.append(Event.ATTEMPT_STARTED, history.Actor.worker("w"), change_request=change)
        history.append(
            Event.ATTEMPT_FAILED,
            history.Actor.worker("w"),
            change_request=change,
            details={"error": {"code": code}},
        )
    text = scrape()
    assert "backup_frameworks_apply_attempts_total 3.0" in text
    assert 'backup_frameworks_apply_errors_total{code="ThrottlingException"} 2.0' in text
    assert 'backup_frameworks_apply_errors_total{code="AccessDeniedException"} 1.0' in text


def test_metrics_ask_for_the_token_when_one_is_set(db: None, settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert "backup_frameworks_changes" in scrape(HTTP_AUTHORIZATION="Bearer s3cret")


@pytest.mark.parametrize("targets", [1, 10])
def test_metrics_query_count_does_not_grow_with_targets(
    db: None, django_assert_num_queries: Any, targets: int
) -> None:
    for i in range(targets):
        make_target(f"t-{i}")
    # States, oldest approval, attempts, errors by code, targets, the last checkpoint.
    with django_assert_num_queries(6):
        scrape()
