"""Chaos for framework tags: a worker killed with SIGKILL after AWS accepted its TagResource
(the stage hook ``after_tag_call``). The redelivered run reads the tags AWS holds, sends only
what is left (the UntagResource), and AWS saw one effective TagResource per change."""

from __future__ import annotations

import os
import signal
import time

import pytest

from frameworks import services
from frameworks.models import Framework
from tests.applying import approve, backup_client, controls
from tests.chaos.test_chaos import KILLS, all_settled
from tests.worker import celery_worker, routed_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, aws_files, emulator_server):
    folder = tmp_path_factory.mktemp("chaos-tags")
    start = celery_worker(folder, aws_files=aws_files, concurrency=2, APPLY_MAX_ATTEMPTS="3")
    with start as running, routed_to(running.queue):
        yield running


@pytest.fixture(autouse=True)
def _roomy_account(emulator, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    emulator.control.configure(max_frameworks=500, max_controls=5000)


def tag_drafts(n, target, editor):
    client = backup_client(target)
    for i in range(n):
        client.create_framework(
            FrameworkName=f"tg{i}",
            FrameworkControls=controls(300 + i),
            FrameworkTags={"Owner": "a", "Old": "x"},
        )
    services.target_sync(target_id=target.pk)
    drafts = []
    for i in range(n):
        working = Framework.objects.get(target=target, name=f"tg{i}").api_document()
        working["FrameworkTags"] = {"Owner": f"b{i}"}
        drafts.append(
            services.change_request_create_draft(
                user=editor,
                target_id=target.pk,
                kind="update",
                framework_name=f"tg{i}",
                document=working,
            )
        )
    return drafts


def test_a_worker_killed_after_tag_resource_was_accepted_writes_the_tags_once(
    worker, target, editor, approver, emulator
):
    changes = tag_drafts(KILLS, target, editor)
    emulator.control.clear_calls()
    for change in changes:
        worker.arm("after_tag_call", change.pk)
    changes = [approve(change, editor, approver) for change in changes]
    killed = set()
    deadline = time.monotonic() + 120
    while len(killed) < len(changes):
        for run in worker.reached("after_tag_call"):
            os.kill(run["pid"], signal.SIGKILL)
            killed.add(run["change_id"])
        assert time.monotonic() < deadline, (
            f"killed {len(killed)} of {len(changes)}\n{worker.tail()}"
        )
        time.sleep(0.02)
    assert killed == {c.pk for c in changes}
    all_settled(changes, worker)
    assert [c.state for c in changes] == ["applied"] * len(changes)
    calls = emulator.control.calls()
    for i, change in enumerate(changes):
        arn = Framework.objects.get(target=target, name=change.framework_name).arn
        mine = [c for c in calls if c["framework_name"] == change.framework_name]
        effective = [c["operation"] for c in mine if c["effective"]]
        assert effective.count("TagResource") == 1, effective
        assert effective.count("UntagResource") == 1, effective
        assert "UpdateFramework" not in [c["operation"] for c in mine]
        tags = backup_client(target).list_tags(ResourceArn=arn)["Tags"]
        assert tags == {"Owner": f"b{i}"}
    assert {c.attempts for c in changes} == {2}
