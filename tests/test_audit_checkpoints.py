"""Signed checkpoints: writing them, trusting only the right key, and verify_history
--checkpoints catching what the chain alone cannot."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.signals import beat_init
from django.core.management import CommandError, call_command

from config.celery import app
from frameworks import checkpoints, tasks
from frameworks.models import HistoryCheckpoint
from tests.audit_builders import raw, rechain, rows, signing_key
from tests.factories import make_target

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(settings, tmp_path):
    return signing_key(settings, tmp_path)


@pytest.fixture
def file(tmp_path) -> Path:
    return tmp_path / "checkpoints.jsonl"


def verify(file: Path) -> str:
    call_command("verify_history", "--checkpoints", str(file))
    return "ok"


def failure(file: Path) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_history", "--checkpoints", str(file))
    return str(caught.value)


def test_beats_task_signs_the_head_and_writes_every_destination(key, file, settings, capsys):
    settings.HISTORY_CHECKPOINT_DESTINATIONS = [f"file:{file}", "stdout"]
    ids = rows(3, target=make_target())
    tasks.history_checkpoint()
    line = file.read_text().strip()
    record = json.loads(line)
    assert record["row_id"] == ids[-1] and record["key_id"] == checkpoints.key_id(key.public_key())
    assert line in capsys.readouterr().out
    copy = HistoryCheckpoint.objects.get()
    assert copy.record == line and copy.row_id == ids[-1]
    assert checkpoints.parse(line, key.public_key()).row_hash == record["row_hash"]


def test_beat_anchors_the_chain_as_it_starts(key, file, settings, monkeypatch):
    """Not one interval later: beat sends the task when it starts (run here in process)."""
    # Beat's other start-up check closes the connection, which this test's transaction holds.
    monkeypatch.setattr("frameworks.dbroles.warn_if_privileged", lambda: None)
    settings.HISTORY_CHECKPOINT_DESTINATIONS = [f"file:{file}"]
    ids = rows(2, target=make_target())
    app.conf.task_always_eager = True
    try:
        beat_init.send(sender=None)
    finally:
        app.conf.task_always_eager = False
    assert json.loads(file.read_text())["row_id"] == ids[-1]
    assert HistoryCheckpoint.objects.get().row_id == ids[-1]


def test_no_key_no_checkpoint(settings, file):
    settings.HISTORY_SIGNING_KEY = settings.HISTORY_SIGNING_KEY_FILE = ""
    assert checkpoints.checkpoint_write() is None
    assert not HistoryCheckpoint.objects.exists()


def test_a_checkpoint_signed_with_another_key_or_edited_is_reported_as_such(key, file):
    rows(2, target=make_target())
    checkpoints.checkpoint_write()
    other = checkpoints.sign(
        checkpoints.Ed25519PrivateKey.generate(), 2, "f" * 64, checkpoints.timezone.now()
    )
    good = file.read_text().strip()
    edited = json.loads(good)
    edited["row_id"] = 1
    file.write_text(f"{good}\n{other.line}\n{json.dumps(edited)}\n")
    message = failure(file)
    assert "2 checkpoint(s) not trusted" in message


def test_the_page_warns_when_the_latest_checkpoint_is_older_than_two_intervals(
    key, file, auditor, settings
):
    from tests.conftest import client_for

    rows(1, target=make_target())
    checkpoints.checkpoint_write()
    client = client_for(auditor)
    assert "older than two checkpoint intervals" not in client.get("/audit/").content.decode()
    settings.HISTORY_CHECKPOINT_SECONDS = 0.001
    time.sleep(0.01)
    assert "older than two checkpoint intervals" in client.get("/audit/").content.decode()


@pytest.fixture
def anchored(key, file):
    """Ten rows, a checkpoint at 5 and one at 10."""
    target = make_target()
    rows(5, target=target)
    checkpoints.checkpoint_write()
    rows(5, target=target)
    checkpoints.checkpoint_write()
    assert verify(file) == "ok"
    return target


def test_an_edited_row_is_named(anchored, file):
    raw("UPDATE frameworks_historyevent SET actor_name = 'mallory' WHERE id = 3")
    assert "row 3 was edited" in failure(file)


def test_a_removed_row_is_named(anchored, file):
    raw("DELETE FROM frameworks_historyevent WHERE id = 4")
    assert "row 4 was removed" in failure(file)


def test_an_inserted_row_is_named(anchored, file):
    # Row 7 replaced by a row that hashes correctly but was not chained where it stands.
    raw("UPDATE frameworks_historyevent SET framework_name = 'other' WHERE id = 7")
    from frameworks import history
    from frameworks.models import HistoryEvent

    row = HistoryEvent.objects.get(id=7)
    raw("UPDATE frameworks_historyevent SET row_hash = %s WHERE id = 7", [history.row_hash(row)])
    assert "row 7 was inserted" in failure(file)


def test_a_consistent_tail_rewrite_is_caught_by_the_checkpoints_only(anchored, file):
    raw("UPDATE frameworks_historyevent SET actor_name = 'mallory' WHERE id = 7")
    rechain(7)
    call_command("verify_history")  # the chain alone is fooled
    message = failure(file)
    assert "row 10 no longer matches the checkpoint" in message
    assert "rewritten from one of rows 6 to 10 on" in message
    assert "the last checkpoint that still holds is row 5" in message


def test_a_truncation_is_caught_by_the_checkpoints(anchored, file):
    raw("DELETE FROM frameworks_historyevent WHERE id > 8")
    rechain(8)
    call_command("verify_history")
    assert "the history was cut short" in failure(file)
    assert "rows 9-10 removed" in failure(file)


def test_history_key_prints_the_public_key_and_its_id(key, capsys):
    call_command("history_key")
    out = capsys.readouterr().out
    assert out.startswith("-----BEGIN PUBLIC KEY-----")
    assert f"key id: {checkpoints.key_id(key.public_key())}" in out


def test_history_key_generates_a_private_key_file_once(tmp_path):
    path = tmp_path / "key.pem"
    call_command("history_key", "--generate", str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in path.read_text()
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("history_key", "--generate", str(path))


# --- S3 with Object Lock, against moto's server ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server(monkeypatch):
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if moto is None:
        pytest.skip("moto[server] is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    from frameworks import aws

    aws._s3_client.cache_clear()
    yield url
    aws._s3_client.cache_clear()
    process.terminate()
    process.wait(timeout=10)


def test_a_checkpoint_lands_in_s3_under_object_lock_and_cannot_be_deleted(
    key, file, settings, s3_server
):
    import boto3
    import botocore.exceptions

    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="eu-west-1")
    s3.create_bucket(
        Bucket="history-anchor",
        ObjectLockEnabledForBucket=True,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    settings.HISTORY_CHECKPOINT_DESTINATIONS = ["s3://history-anchor/prod"]
    rows(2, target=make_target())
    checkpoint = checkpoints.checkpoint_write()
    (listed,) = s3.list_objects_v2(Bucket="history-anchor", Prefix="prod/")["Contents"]
    body = s3.get_object(Bucket="history-anchor", Key=listed["Key"])["Body"].read().decode()
    assert body.strip() == checkpoint.line
    head = s3.head_object(Bucket="history-anchor", Key=listed["Key"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > checkpoint.at + timedelta(days=2555)
    version = head["VersionId"]
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket="history-anchor", Key=listed["Key"], VersionId=version)


def test_a_destination_that_fails_is_reported_after_the_others_are_written(
    key, file, settings, monkeypatch
):
    settings.HISTORY_CHECKPOINT_DESTINATIONS = ["s3://no-such-bucket/x", f"file:{file}"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from frameworks import aws

    aws._s3_client.cache_clear()
    settings.AWS_CONNECT_TIMEOUT = 1
    with pytest.raises(checkpoints.CheckpointError, match="s3://no-such-bucket/x"):
        checkpoints.checkpoint_write()
    aws._s3_client.cache_clear()
    assert file.read_text().count("\n") == 1
