from __future__ import annotations

import threading

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from frameworks import queries, services
from frameworks.models import Framework, Target
from tests.factories import controls, history_appends

pytestmark = pytest.mark.django_db

CONTROLS = [
    {
        "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
        "ControlInputParameters": [
            {"ParameterName": "requiredRetentionDays", "ParameterValue": "35"}
        ],
    }
]


def backup(emulator, profile: str = "acct1", region: str = "eu-west-1"):
    return boto3.Session(profile_name=profile, region_name=region).client(
        "backup", endpoint_url=emulator.url
    )


def test_sync_mirrors_new_changed_and_vanished_frameworks(target, emulator):
    aws = backup(emulator)
    aws.create_framework(FrameworkName="one", FrameworkControls=CONTROLS)
    aws.create_framework(
        FrameworkName="two",
        FrameworkControls=[{"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}],
    )

    result = services.target_sync(target_id=target.pk)
    assert sorted(result.created) == ["one", "two"]
    one = Framework.objects.get(target=target, name="one")
    assert one.controls[0]["ControlName"] == "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"
    assert one.arn.startswith("arn:aws:backup:eu-west-1:111111111111:framework:one-")
    assert one.deployment_status == "COMPLETED"
    assert len(one.content_hash) == 64
    target.refresh_from_db()
    assert target.account_id == "111111111111"
    assert target.last_synced_at is not None

    result = services.target_sync(target_id=target.pk)
    assert (result.created, result.changed, result.gone, result.unchanged) == ([], [], [], 2)

    aws.update_framework(
        FrameworkName="one", FrameworkDescription="now described", FrameworkControls=CONTROLS
    )
    aws.delete_framework(FrameworkName="two")
    result = services.target_sync(target_id=target.pk)
    assert result.changed == ["one"]
    assert result.gone == ["two"]
    two = Framework.objects.get(target=target, name="two")
    assert not two.present and two.gone_since is not None
    assert Framework.objects.get(target=target, name="one").description == "now described"


def test_a_framework_that_comes_back_is_present_again_with_its_new_arn(target, emulator):
    aws = backup(emulator)
    aws.create_framework(FrameworkName="phoenix", FrameworkControls=CONTROLS)
    services.target_sync(target_id=target.pk)
    first_arn = Framework.objects.get(name="phoenix").arn
    aws.delete_framework(FrameworkName="phoenix")
    services.target_sync(target_id=target.pk)
    aws.create_framework(FrameworkName="phoenix", FrameworkControls=CONTROLS)
    result = services.target_sync(target_id=target.pk)
    assert result.changed == ["phoenix"]
    phoenix = Framework.objects.get(name="phoenix")
    assert phoenix.present and phoenix.arn != first_arn
    assert Framework.objects.filter(name="phoenix").count() == 1


def test_accounts_and_regions_are_kept_apart(target, other_target, emulator):
    backup(emulator, "acct1").create_framework(FrameworkName="prod_fw", FrameworkControls=CONTROLS)
    backup(emulator, "acct2").create_framework(FrameworkName="dev_fw", FrameworkControls=CONTROLS)
    backup(emulator, "acct1", "us-east-1").create_framework(
        FrameworkName="us_fw", FrameworkControls=CONTROLS
    )
    services.sync_all()
    assert list(target.frameworks.values_list("name", flat=True)) == ["prod_fw"]
    assert list(other_target.frameworks.values_list("name", flat=True)) == ["dev_fw"]


def test_one_failing_target_does_not_stop_the_others(target, other_target, emulator):
    backup(emulator, "acct2").create_framework(FrameworkName="dev_fw", FrameworkControls=CONTROLS)
    Target.objects.filter(pk=target.pk).update(profile="no-such-profile")
    results = {r.target: r for r in services.sync_all()}
    assert results["prod-eu"].error.code == "ProfileNotFound"
    assert results["dev-eu"].error is None and results["dev-eu"].created == ["dev_fw"]
    target.refresh_from_db()
    assert target.last_sync_error_code == "ProfileNotFound"
    assert "profile" in target.last_sync_error


def test_an_unreachable_endpoint_is_reported_per_target(target, other_target, emulator, settings):
    settings.AWS_SYNC_MAX_ATTEMPTS = 1
    Target.objects.filter(pk=target.pk).update(endpoint_url="http://127.0.0.1:9")
    results = {r.target: r for r in services.sync_all()}
    assert results["prod-eu"].error.code == "ConnectionError"
    assert results["prod-eu"].error.transient
    assert results["dev-eu"].error is None


def test_an_aws_error_is_kept_on_the_target_in_words_and_code(target, emulator, settings):
    settings.AWS_SYNC_MAX_ATTEMPTS = 1
    emulator.control.fail_next("AccessDeniedException", count=1)
    result = services.target_sync(target_id=target.pk)
    assert result.error.code == "AccessDeniedException"
    target.refresh_from_db()
    assert target.last_sync_error_code == "AccessDeniedException"
    assert "not allowed" in target.last_sync_error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_sync_of_the_same_target_is_skipped_while_one_runs(target, emulator):
    """Two syncs at once, released together: the lease lets exactly one through."""
    backup(emulator).create_framework(FrameworkName="one", FrameworkControls=CONTROLS)
    emulator.control.set_latency(0.3)
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(services.target_sync(target_id=target.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.skipped for r in results) == [False, True]


def test_the_lease_skips_a_sync_while_another_holds_it(target, emulator):
    from datetime import timedelta

    from django.utils import timezone

    Target.objects.filter(pk=target.pk).update(
        sync_lease_until=timezone.now() + timedelta(minutes=1), sync_lease_owner="other"
    )
    assert services.target_sync(target_id=target.pk).skipped
    Target.objects.filter(pk=target.pk).update(
        sync_lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert not services.target_sync(target_id=target.pk).skipped
    target.refresh_from_db()
    assert target.sync_lease_until is None


def test_sync_writes_the_mirror_in_a_constant_number_of_queries(
    target, emulator, django_assert_max_num_queries
):
    aws = backup(emulator)
    for i in range(5):
        aws.create_framework(
            FrameworkName=f"f{i}",
            FrameworkControls=[
                {
                    "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
                    "ControlInputParameters": [
                        {"ParameterName": "requiredRetentionDays", "ParameterValue": str(i + 1)}
                    ],
                }
            ],
        )
    services.target_sync(target_id=target.pk)
    for i in range(5, 10):
        aws.create_framework(
            FrameworkName=f"f{i}",
            FrameworkControls=[
                {
                    "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
                    "ControlInputParameters": [
                        {"ParameterName": "requiredRetentionDays", "ParameterValue": str(i + 1)}
                    ],
                }
            ],
        )
    # lease, target, savepoint, open changes, existing, versions insert + read, insert,
    # update, history head, history insert, head update, the admins to tell about frameworks
    # made outside the console, target, savepoint, release
    with django_assert_max_num_queries(16):
        result = services.target_sync(target_id=target.pk)
    assert len(result.created) == 5 and result.unchanged == 5


def test_the_command_names_unknown_targets_and_fails_on_errors(target, emulator, settings):
    with pytest.raises(CommandError, match="No such target: nope"):
        call_command("sync_frameworks", "--target", "nope")
    settings.AWS_SYNC_MAX_ATTEMPTS = 1
    emulator.control.fail_next("AccessDeniedException", count=1)
    with pytest.raises(CommandError, match="1 target"):
        call_command("sync_frameworks", "--target", "prod-eu")


# --- sync writes history, and marks changes stale ------------------------------------------


def _rows(**filters) -> list:
    from frameworks.models import HistoryEvent

    return list(HistoryEvent.objects.filter(**filters).order_by("id"))


def test_sync_records_a_version_and_a_history_row_for_new_changed_and_gone(target, emulator):
    from frameworks import history
    from frameworks.models import ActorKind, DocumentVersion, Event

    aws = backup(emulator)
    aws.create_framework(FrameworkName="one", FrameworkControls=controls(35))
    aws.create_framework(FrameworkName="two", FrameworkControls=controls(7))
    services.target_sync(target_id=target.pk)
    services.target_sync(target_id=target.pk)  # nothing changed: nothing recorded
    aws.update_framework(FrameworkName="one", FrameworkControls=controls(40))
    aws.delete_framework(FrameworkName="two")
    services.target_sync(target_id=target.pk)

    one = _rows(framework_name="one")
    assert [r.event for r in one] == [Event.SYNC_NEW, Event.SYNC_CHANGED]
    assert one[0].version_before is None and one[0].version_after is not None
    assert one[1].version_before == one[0].version_after
    assert one[1].version_after.content_hash == Framework.objects.get(name="one").content_hash
    assert {r.actor_kind for r in one} == {ActorKind.SYNC}
    assert all(r.actor_host for r in one)
    changes = queries.changes_of(one[1])
    assert [c.kind for c in changes] == ["parameter_changed"]
    assert (changes[0].old, changes[0].new) == ("35", "40")

    two = _rows(framework_name="two")
    assert [r.event for r in two] == [Event.SYNC_NEW, Event.SYNC_GONE]
    assert two[1].version_before == two[0].version_after and two[1].version_after is None
    assert DocumentVersion.objects.count() == 3
    assert history.verify() == (4, None)


def _open_change(target, editor, approver, *, approve: bool):
    """An update of 'one' by `editor`, submitted (and approved), based on the live document."""
    from frameworks.models import ChangeKind

    change = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind=ChangeKind.UPDATE,
        framework_name="one",
        document={"FrameworkControls": controls(50)},
    )
    change = services.change_request_submit(user=editor, change_id=change.pk, reason="longer")
    if approve:
        change = services.change_request_approve(
            user=approver, change_id=change.pk, content_hash=change.proposed_hash
        )
    return change


@pytest.mark.parametrize("approve", [False, True], ids=["submitted", "approved"])
def test_sync_marks_an_open_change_stale_when_aws_moved_away_from_its_base(
    target, emulator, editor, approver, approve
):
    from frameworks.models import ActorKind, ChangeRequest, ChangeState, Event

    aws = backup(emulator)
    aws.create_framework(FrameworkName="one", FrameworkControls=controls(35))
    services.target_sync(target_id=target.pk)
    change = _open_change(target, editor, approver, approve=approve)
    state_before = change.state

    services.target_sync(target_id=target.pk)  # nothing moved: the change stays as it is
    assert ChangeRequest.objects.get(pk=change.pk).state == state_before

    aws.update_framework(FrameworkName="one", FrameworkControls=controls(36))
    result = services.target_sync(target_id=target.pk)
    assert result.stale == [change.pk]
    change.refresh_from_db()
    assert change.state == ChangeState.STALE
    stale = _rows(event=Event.STALE)
    assert len(stale) == 1 and stale[0].change_request_id == change.pk
    assert stale[0].actor_kind == ActorKind.SYNC
    assert stale[0].details["state_before"] == state_before
    assert stale[0].details["base_hash"] == change.base_version.content_hash
    assert stale[0].details["live_hash"] == Framework.objects.get(name="one").content_hash
    assert stale[0].version_after.content_hash == stale[0].details["live_hash"]


def test_sync_marks_an_open_change_stale_when_its_framework_is_gone(
    target, emulator, editor, approver
):
    from frameworks.models import ChangeState

    aws = backup(emulator)
    aws.create_framework(FrameworkName="one", FrameworkControls=controls(35))
    services.target_sync(target_id=target.pk)
    change = _open_change(target, editor, approver, approve=False)
    aws.delete_framework(FrameworkName="one")
    services.target_sync(target_id=target.pk)
    change.refresh_from_db()
    assert change.state == ChangeState.STALE


def test_sync_marks_a_create_stale_when_the_framework_appears_in_aws(target, emulator, editor):
    from frameworks.models import ChangeKind, ChangeState

    change = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind=ChangeKind.CREATE,
        framework_name="fresh",
        document={"FrameworkControls": controls(9)},
    )
    services.change_request_submit(user=editor, change_id=change.pk, reason="new")
    backup(emulator).create_framework(FrameworkName="fresh", FrameworkControls=controls(9))
    services.target_sync(target_id=target.pk)
    change.refresh_from_db()
    assert change.state == ChangeState.STALE


def test_sync_leaves_alone_a_framework_whose_change_is_being_applied(
    target, emulator, editor, approver
):
    from frameworks.models import ChangeState, Event

    aws = backup(emulator)
    aws.create_framework(FrameworkName="one", FrameworkControls=controls(35))
    services.target_sync(target_id=target.pk)
    change = _open_change(target, editor, approver, approve=True)
    services.change_request_claim(
        change_id=change.pk, worker="w1", lease_seconds=60, max_attempts=3
    )
    mirror_before = Framework.objects.get(name="one")
    aws.update_framework(FrameworkName="one", FrameworkControls=controls(50))
    aws.create_framework(FrameworkName="other", FrameworkControls=controls(1))

    result = services.target_sync(target_id=target.pk)
    assert result.held == ["one"] and result.created == ["other"]
    mirror = Framework.objects.get(name="one")
    assert (mirror.content_hash, mirror.last_synced_at) == (
        mirror_before.content_hash,
        mirror_before.last_synced_at,
    )
    change.refresh_from_db()
    assert change.state == ChangeState.APPLYING
    assert not _rows(framework_name="one", event=Event.SYNC_CHANGED)

    aws.delete_framework(FrameworkName="one")  # gone while applying: still left to the worker
    result = services.target_sync(target_id=target.pk)
    assert result.gone == [] and Framework.objects.get(name="one").present


@pytest.mark.parametrize("size", [3, 12])
def test_sync_with_history_takes_the_same_queries_at_any_size(
    target, emulator, editor, django_assert_num_queries, size
):
    """New, changed and gone frameworks, versions, history rows and a stale change: a constant
    number of queries whatever the number of frameworks (shown at two sizes)."""
    from frameworks.models import ChangeKind

    emulator.control.configure(max_frameworks=50, max_controls=500)
    aws = backup(emulator)
    for i in range(size):
        aws.create_framework(FrameworkName=f"f{i}", FrameworkControls=controls(i + 1))
    services.target_sync(target_id=target.pk)
    change = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind=ChangeKind.UPDATE,
        framework_name="f0",
        document={"FrameworkControls": controls(500)},
    )
    services.change_request_submit(user=editor, change_id=change.pk, reason="stale soon")
    for i in range(size // 3):
        aws.update_framework(FrameworkName=f"f{i}", FrameworkControls=controls(100 + i))
    for i in range(size // 3, 2 * size // 3):
        aws.delete_framework(FrameworkName=f"f{i}")
    for i in range(size // 3):
        aws.create_framework(FrameworkName=f"g{i}", FrameworkControls=controls(200 + i))
    # lease, target, savepoint, open changes, existing, versions insert + read, insert, update,
    # vanished, stale, the history append, the admins to tell about frameworks changed outside
    # the console, target, savepoint, release
    with django_assert_num_queries(15 + history_appends()):
        result = services.target_sync(target_id=target.pk)
    assert len(result.changed) == len(result.gone) == len(result.created) == size // 3
    assert result.stale == [change.pk]
