"""Plain factory functions for mirror rows (no AWS involved)."""

from __future__ import annotations

from django.utils import timezone

from frameworks.models import Framework, Target


def make_target(slug: str = "prod-eu", **fields: object) -> Target:
    defaults = {"display_name": slug.replace("-", " ").title(), "region": "eu-west-1"}
    defaults.update(fields)
    return Target.objects.create(slug=slug, **defaults)


def control(i: int) -> dict:
    return {
        "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
        "ControlInputParameters": [
            {"ParameterName": "requiredRetentionDays", "ParameterValue": str(i + 1)}
        ],
        "ControlScope": {"Tags": {"team": f"t{i}"}},
    }


def make_framework(
    target: Target, name: str = "daily", controls: int = 2, **fields: object
) -> Framework:
    values = {
        "arn": f"arn:aws:backup:{target.region}:111111111111:framework:{name}-0000",
        "description": f"{name} framework",
        "controls": [control(i) for i in range(controls)],
        "deployment_status": "COMPLETED",
        "framework_status": "ACTIVE",
        "last_synced_at": timezone.now(),
    }
    values.update(fields)
    return Framework.objects.create(target=target, name=name, **values)


def with_hash(framework: Framework) -> Framework:
    """Give a mirror row the content hash sync would have computed for it."""
    from frameworks import document

    framework.content_hash = document.content_hash(document.parse(framework.api_document()))
    framework.save(update_fields=["content_hash"])
    return framework


def make_live_framework(target: Target, name: str = "daily", controls: int = 2, **fields: object):
    """A mirror row as sync leaves it, content hash included."""
    return with_hash(make_framework(target, name, controls, **fields))
