"""Change requests in every state of the review, built through the services (the tests of
issue 6 share these)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from frameworks import services
from frameworks.models import ChangeKind, ChangeRequest, Framework, Target, TargetRole
from tests.factories import control, make_live_framework, make_target


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
