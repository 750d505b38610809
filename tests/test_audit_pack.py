"""The evidence pack: its files one by one, who sees what in it, and its own verifier on the
pack as made and with one row, one file or one checkpoint altered."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from frameworks import checkpoints
from frameworks.history import Actor
from frameworks.models import Event, HistoryCheckpoint, HistoryEvent, HistoryHead
from tests.audit_builders import rows, set_time, signing_key
from tests.conftest import client_for
from tests.factories import grant, live_framework, make_target, submitted, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(settings, tmp_path):
    return signing_key(settings, tmp_path)


@pytest.fixture
def period(key, editor, approver):
    """Rows before the period, a checkpoint, a change in the period on prod, rows of dev."""
    prod, dev = make_target("prod-eu"), make_target("dev-eu")
    yesterday = timezone.now() - timedelta(days=1)
    set_time(rows(3, target=prod), yesterday)
    head = HistoryHead.objects.get()
    before = checkpoints.sign(key, head.last_id, head.last_hash, yesterday + timedelta(minutes=5))
    HistoryCheckpoint.objects.create(
        row_id=before.row_id,
        row_hash=before.row_hash,
        created_at=before.at,
        key_id=before.key_id,
        record=before.line,
    )
    framework = live_framework(prod, "daily")
    change = submitted(editor, framework)
    from frameworks import services

    services.change_request_comment(user=approver, change_id=change.pk, body="Looks right")
    rows(2, target=dev)
    rows(1, target=None, event=Event.EXPORTED, actor=Actor("user", "adam"))
    return {"prod": prod, "dev": dev, "change": change, "framework": framework}


def pack_of(client, targets: list[str] = (), **dates: str) -> zipfile.ZipFile:
    today = timezone.now().date().isoformat()
    response = client.post(
        "/audit/evidence-pack/",
        {
            "since": dates.get("since", today),
            "until": dates.get("until", today),
            "targets": targets,
        },
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    return zipfile.ZipFile(io.BytesIO(data))


def run_verifier(pack: zipfile.ZipFile, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    folder = tmp_path / "offline"
    folder.mkdir(exist_ok=True)
    path = folder / "pack.zip"
    with zipfile.ZipFile(path, "w") as out:
        for name in pack.namelist():
            out.writestr(name, pack.read(name))
    (folder / "verify.py").write_bytes(pack.read("verify.py"))
    return subprocess.run(
        [sys.executable, str(folder / "verify.py"), str(path), *extra],
        capture_output=True,
        text=True,
        cwd=folder,
        check=False,
    )


def altered(pack: zipfile.ZipFile, name: str, change) -> zipfile.ZipFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for member in pack.namelist():
            data = pack.read(member)
            copy.writestr(member, change(data) if member == name else data)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_the_pack_holds_each_file_and_its_verifier_says_it_is_intact(period, auditor, tmp_path):
    pack = pack_of(client_for(auditor), ["prod-eu"])
    names = set(pack.namelist())
    assert {
        "frameworks/prod-eu/daily/start.json",
        "frameworks/prod-eu/daily/end.json",
        "changes.json",
        "roles.json",
        "history.jsonl",
        "chain.jsonl",
        "checkpoints/start.json",
        "checkpoints/end.json",
        "manifest.json",
        "manifest.sig",
        "public-key.pem",
        "verify.py",
        "summary.html",
    } <= names
    assert not any(name.startswith("frameworks/dev-eu/") for name in names)
    (change,) = json.loads(pack.read("changes.json"))
    assert change["id"] == period["change"].pk and change["reason"]
    assert change["comments"][0]["body"] == "Looks right"
    # What the approvals bound: the review hash (the content hash when no tags are proposed).
    assert change["review_hash"] == period["change"].review_hash
    assert change["proposed_tags"] == period["change"].proposed_tags
    period_rows = [json.loads(line) for line in pack.read("history.jsonl").splitlines()]
    assert {r["target_id"] for r in period_rows} <= {period["prod"].pk, None}
    assert all(r["event"] for r in period_rows)
    chain = [json.loads(line) for line in pack.read("chain.jsonl").splitlines()]
    dev_ids = set(HistoryEvent.objects.filter(target=period["dev"]).values_list("id", flat=True))
    # Other targets' rows are there, as hashes only.
    assert {r["id"] for r in chain if "event" not in r} >= dev_ids
    assert all(set(r) == {"id", "prev_hash", "row_hash"} for r in chain if r["id"] in dev_ids)
    start = json.loads(pack.read("checkpoints/start.json"))
    assert start["row_id"] == 3  # the checkpoint before the period
    manifest = json.loads(pack.read("manifest.json"))
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sig", "public-key.pem"}
    summary = pack.read("summary.html").decode()
    assert "Looks right" in summary and "verify.py" in summary and "<script" not in summary
    key_id = checkpoints.key_id(checkpoints.load_private_key().public_key())
    result = run_verifier(pack, tmp_path, "--key-id", key_id)
    assert result.returncode == 0, result.stdout
    assert "The pack is intact." in result.stdout
    # The pack is itself in the history.
    record = HistoryEvent.objects.filter(event=Event.EVIDENCE_PACK).get()
    assert record.actor_name == auditor.username and record.details["filters"]["targets"] == [
        "prod-eu"
    ]


def test_a_per_target_auditor_gets_only_their_targets_rows_in_full(period, tmp_path):
    petra = client_for(grant(user("petra"), "auditor", period["prod"]))
    pack = pack_of(petra)
    chain = [json.loads(line) for line in pack.read("chain.jsonl").splitlines()]
    full = {r["target_id"] for r in chain if "event" in r}
    assert full == {period["prod"].pk}
    assert run_verifier(pack, tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("name", "change", "words"),
    [
        (
            "history.jsonl",
            lambda data: data.replace(b'"Looks right"', b'"Looks wrong"', 1),
            "history.jsonl was altered",
        ),
        ("summary.html", lambda data: data + b"<!-- edited -->", "summary.html was altered"),
        (
            "checkpoints/end.json",
            lambda data: data.replace(b'"row_id": ', b'"row_id": 1', 1),
            "checkpoints/end.json was altered",
        ),
        (
            "manifest.json",
            lambda data: data.replace(b"prod-eu", b"prod-us", 1),
            "manifest.json was edited",
        ),
    ],
)
def test_the_verifier_names_what_was_altered(period, auditor, tmp_path, name, change, words):
    pack = altered(pack_of(client_for(auditor), ["prod-eu"]), name, change)
    result = run_verifier(pack, tmp_path)
    assert result.returncode == 1
    assert words in result.stdout


def test_the_verifier_finds_a_row_altered_with_the_manifest_resigned(period, auditor, tmp_path):
    """Someone who alters a row and fixes the manifest's digest still cannot sign it."""
    from frameworks.evidence_verify import Failed, verify

    pack = pack_of(client_for(auditor), ["prod-eu"])
    chain = pack.read("chain.jsonl").replace(b'"Looks right"', b'"Looks wrong"', 1)
    forged = altered(pack, "chain.jsonl", lambda data: chain)
    path = tmp_path / "forged.zip"
    with zipfile.ZipFile(path, "w") as out:
        for name in forged.namelist():
            out.writestr(name, forged.read(name))
    with pytest.raises(Failed, match=r"chain\.jsonl was altered"):
        verify(str(path))


def test_the_verifier_checks_the_unzipped_pack_it_sits_in(period, auditor, tmp_path):
    pack = pack_of(client_for(auditor), ["prod-eu"])
    folder = tmp_path / "unzipped"
    pack.extractall(folder)

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(folder / "verify.py")],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )

    intact = run()
    assert intact.returncode == 0, intact.stdout
    assert "The pack is intact." in intact.stdout
    history = folder / "history.jsonl"
    history.write_bytes(history.read_bytes().replace(b'"Looks right"', b'"Looks wrong"', 1))
    assert "history.jsonl was altered" in run().stdout
    history.write_bytes(pack.read("history.jsonl"))
    (folder / "notes.txt").write_text("added")
    assert "notes.txt is in the pack but not in the manifest" in run().stdout


def test_a_pack_signed_with_another_key_is_refused_when_the_key_id_is_given(
    period, auditor, tmp_path
):
    pack = pack_of(client_for(auditor), ["prod-eu"])
    result = run_verifier(pack, tmp_path, "--key-id", "0000000000000000")
    assert result.returncode == 1 and "not 0000000000000000" in result.stdout


def test_the_pack_form_names_a_bad_period(period, auditor):
    response = client_for(auditor).post(
        "/audit/evidence-pack/", {"since": "2026-03-05", "until": "2026-03-01"}
    )
    assert response.status_code == 400
    assert "The end of the period is before its start." in response.content.decode()


def test_the_command_writes_a_pack_to_standard_output(period, tmp_path, monkeypatch):
    today = timezone.now().date().isoformat()
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer))
    call_command("evidence_pack", "--from", today, "--to", today, "--target", "prod-eu")
    pack = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    assert "frameworks/prod-eu/daily/end.json" in pack.namelist()
    assert run_verifier(pack, tmp_path).returncode == 0
    assert HistoryEvent.objects.filter(
        event=Event.EVIDENCE_PACK, actor_name="manage.py evidence_pack"
    ).exists()


# --- the changes are what was approved ------------------------------------------------------


@pytest.fixture
def approved(period, approver):
    """The period's change, approved by the approver."""
    from frameworks import services

    change = period["change"]
    return services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.review_hash
    )


def resigned(pack: zipfile.ZipFile, name: str, data: bytes) -> zipfile.ZipFile:
    """The pack with `name` replaced and the manifest fixed and signed again with the console's
    key: what a pack made from a database someone altered looks like."""
    import base64
    import hashlib

    manifest = json.loads(pack.read("manifest.json"))
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    signature = base64.b64encode(checkpoints.load_private_key().sign(manifest_bytes))
    replaced = {name: data, "manifest.json": manifest_bytes, "manifest.sig": signature}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for member in pack.namelist():
            copy.writestr(member, replaced.get(member, pack.read(member)))
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_the_pack_holds_each_changes_documents_and_the_verifier_recomputes_its_review_hash(
    approved, auditor, tmp_path
):
    pack = pack_of(client_for(auditor), ["prod-eu"])
    (change,) = json.loads(pack.read("changes.json"))
    assert change["documents"] == {
        "base": f"changes/{approved.pk}/base.json",
        "proposed": f"changes/{approved.pk}/proposed.json",
    }
    assert json.loads(pack.read(change["documents"]["proposed"])) == (
        approved.proposed_version.document
    )
    assert change["proposed_version_id"] == approved.proposed_version_id
    result = run_verifier(pack, tmp_path)
    assert result.returncode == 0, result.stdout
    assert (
        "ok: 1 change: each review hash recomputed from its documents and tags is what was "
        "approved" in result.stdout
    )


def test_a_change_document_altered_in_the_database_fails_with_the_file_named(
    approved, auditor, tmp_path
):
    """Someone with the database password edits the approved proposal in place; the pack the
    console then makes, honestly signed, does not verify."""
    from tests.audit_builders import raw

    document = dict(approved.proposed_version.document)
    document["FrameworkDescription"] = "Quietly changed"
    raw(
        "UPDATE frameworks_documentversion SET document = %s WHERE id = %s",
        [json.dumps(document), approved.proposed_version_id],
    )
    result = run_verifier(pack_of(client_for(auditor), ["prod-eu"]), tmp_path)
    assert result.returncode == 1
    assert (
        f"FAILED: change #{approved.pk}: changes/{approved.pk}/proposed.json hashes to "
        in result.stdout
    )
    assert "the document was altered" in result.stdout


def test_a_change_document_and_its_hashes_altered_still_fail_against_the_approval(
    approved, auditor, tmp_path
):
    """The document and every hash changes.json names altered consistently, the manifest
    signed again: the approval still bound the original."""
    from frameworks import document as core

    pack = pack_of(client_for(auditor), ["prod-eu"])
    name = f"changes/{approved.pk}/proposed.json"
    proposal = json.loads(pack.read(name))
    proposal["FrameworkControls"] = proposal["FrameworkControls"][:1]
    forged_hash = core.content_hash(core.parse(proposal))
    changes = json.loads(pack.read("changes.json"))
    changes[0]["proposed_hash"] = changes[0]["review_hash"] = forged_hash
    for decision in changes[0]["approvals"]:
        decision["content_hash"] = forged_hash
    forged = resigned(pack, name, json.dumps(proposal).encode())
    forged = resigned(forged, "changes.json", json.dumps(changes).encode())
    result = run_verifier(forged, tmp_path)
    assert result.returncode == 1
    assert (
        f"FAILED: change #{approved.pk}: history row " in result.stdout
        and "(approved) bound" in result.stdout
        and "they are not what was approved" in result.stdout
    )


def test_tags_altered_after_the_approval_fail_against_it(approved, auditor, tmp_path):
    from tests.audit_builders import raw

    raw(
        "UPDATE frameworks_changerequest SET proposed_tags = %s WHERE id = %s",
        [json.dumps({"owner": "mallory"}), approved.pk],
    )
    result = run_verifier(pack_of(client_for(auditor), ["prod-eu"]), tmp_path)
    assert result.returncode == 1
    assert f"FAILED: change #{approved.pk}: alice decided (approve) on" in result.stdout
    assert "tags in the pack hash to" in result.stdout


@pytest.mark.parametrize(
    "doc",
    [
        {"FrameworkControls": []},
        {"FrameworkDescription": "Nightly", "FrameworkControls": [{"ControlName": "X"}]},
        {
            "FrameworkDescription": "",
            "FrameworkControls": [
                {
                    "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
                    "ControlInputParameters": [
                        {"ParameterName": "requiredRetentionDays", "ParameterValue": "35"}
                    ],
                    "ControlScope": {
                        "ComplianceResourceTypes": ["RDS", "EBS"],
                        "Tags": {"b": "2", "a": ""},
                    },
                },
                {"ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"},
                {"ControlName": "A_CONTROL", "ControlScope": {}},
            ],
        },
    ],
)
@pytest.mark.parametrize("tags", [None, {}, {"owner": "ops", "cost": "é"}])
def test_the_verifiers_hashes_are_the_document_cores(doc, tags):
    """The verifier hashes a stored version as the console does, without the console."""
    from frameworks import document as core
    from frameworks.evidence_verify import content_hash, review_hash
    from frameworks.models import DocumentVersion

    parsed = core.parse(doc)
    stored = DocumentVersion.api_form(parsed)
    assert content_hash(stored) == core.content_hash(parsed)
    assert review_hash(content_hash(stored), tags) == core.review_hash(
        core.content_hash(parsed), tags
    )
