from __future__ import annotations

import threading

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from frameworks import services
from frameworks.models import Framework, Target

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
    # lease, target, savepoint, existing, insert, update, vanished?, target, savepoint, release
    with django_assert_max_num_queries(10):
        result = services.target_sync(target_id=target.pk)
    assert len(result.created) == 5 and result.unchanged == 5


def test_the_command_names_unknown_targets_and_fails_on_errors(target, emulator, settings):
    with pytest.raises(CommandError, match="No such target: nope"):
        call_command("sync_frameworks", "--target", "nope")
    settings.AWS_SYNC_MAX_ATTEMPTS = 1
    emulator.control.fail_next("AccessDeniedException", count=1)
    with pytest.raises(CommandError, match="1 target"):
        call_command("sync_frameworks", "--target", "prod-eu")
