"""The tests' builders: mirror rows (no AWS involved), and change requests in every state of
the review, built through the services."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.utils import timezone

from frameworks import services
from frameworks.models import ChangeKind, ChangeRequest, Framework, Target, TargetRole


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


# --- change requests, through the services ------------------------------------------------


def live_framework(target: Target | None = None, name: str = "daily", controls: int = 2):
    return make_live_framework(target or make_target(), name, controls)


def proposal(framework: Framework, *, new_controls: int = 1) -> dict:
    """The framework's document with controls added and a new description."""
    doc = framework.api_document()
    start = len(doc["FrameworkControls"])
    doc["FrameworkControls"] = doc["FrameworkControls"] + [
        control(start + i) for i in range(new_controls)
    ]
    doc["FrameworkDescription"] = "Keep recovery points longer"
    return doc


def draft(author: User, framework: Framework, **kwargs: object) -> ChangeRequest:
    return services.change_request_create_draft(
        user=author,
        target_id=framework.target_id,
        kind=ChangeKind.UPDATE,
        framework_name=framework.name,
        document=proposal(framework, **kwargs),
    )


def submitted(author: User, framework: Framework, **kwargs: object) -> ChangeRequest:
    change = draft(author, framework, **kwargs)
    return services.change_request_submit(
        user=author, change_id=change.pk, reason="Auditors want 35 days"
    )


def set_state(change: ChangeRequest, state: str) -> ChangeRequest:
    """Put a change in a state directly (tests only: for states other actors lead to)."""
    ChangeRequest.objects.filter(pk=change.pk).update(state=state)
    change.refresh_from_db()
    return change


def grant(user: User, role: str, target: Target) -> User:
    """Give `user` `role` on `target` only."""
    TargetRole.objects.create(
        user=user, group=Group.objects.get_or_create(name=role)[0], target=target
    )
    return user


def user(username: str, *roles: str, password: str | None = None) -> User:
    """A user holding `roles` on every target. Without a password (tests log in with
    force_login), since hashing one costs more than the rest of a view test."""
    person = User.objects.create_user(username, f"{username}@example.com", password)
    for role in roles:
        person.groups.add(Group.objects.get_or_create(name=role)[0])
    return person


def change_in(state: str, people: dict) -> ChangeRequest:
    """A change by people["author"] to a live framework of people["target"], in `state`."""
    framework = live_framework(people["target"])
    if state == "draft":
        return draft(people["author"], framework)
    change = submitted(people["author"], framework)
    return change if state == "submitted" else set_state(change, state)
