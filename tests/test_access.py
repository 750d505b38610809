"""Access changes: each service at each guard, its history row, the second administrator's
confirmation, and the four-eyes rule of access changes where approvals are counted."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from frameworks import access, segregation, services
from frameworks.models import (
    AccessChange,
    AccessState,
    ChangeState,
    Event,
    HistoryEvent,
    Outcome,
    TargetRole,
)
from tests.factories import grant, live_framework, make_target, submitted, user

pytestmark = pytest.mark.django_db

PASSWORD = "a long temporary passphrase 42"


def rows(event: str) -> list[HistoryEvent]:
    return list(HistoryEvent.objects.filter(event=event).order_by("id"))


def refused(code: str) -> HistoryEvent:
    row = HistoryEvent.objects.filter(outcome__in=[Outcome.DENIED, Outcome.REFUSED]).first()
    assert row is not None and row.details["code"] == code, row and row.details
    return row


def fresh(person: User) -> User:
    return User.objects.get(pk=person.pk)


@pytest.fixture
def adam(db: None) -> User:
    return user("adam", "admin")


@pytest.fixture
def bea(db: None) -> User:
    """A second administrator of every target."""
    return user("bea", "admin")


# --- one administrator: changes take effect at once, unconfirmed ---------------------------


def test_an_admin_creates_a_person_with_a_temporary_password_and_the_history_says_so(adam):
    change = services.person_create(
        user=adam, values={"username": "pia", "email": "pia@example.com"}, password=PASSWORD
    )
    pia = User.objects.get(username="pia")
    assert pia.is_active and pia.check_password(PASSWORD)
    assert not pia.is_superuser and not pia.is_staff
    assert change.state == AccessState.APPLIED and change.confirmed_by is None
    [row] = rows(Event.USER_CREATED)
    assert (row.actor_id, row.details["subject"]) == (adam.pk, "user pia")
    assert row.details["before"]["active"] is False
    assert row.details["after"]["active"] is True
    assert "password" not in str(row.details["after"])


def test_creating_a_person_refuses_superuser_and_staff_flags(adam):
    with pytest.raises(services.TransitionRefused, match="cannot be set here"):
        services.person_create(
            user=adam, values={"username": "eve", "is_superuser": True}, password=PASSWORD
        )
    assert not User.objects.filter(username="eve").exists()
    refused("invalid")


def test_a_weak_temporary_password_is_refused_in_words(adam):
    with pytest.raises(services.TransitionRefused, match="Temporary password"):
        services.person_create(user=adam, values={"username": "pia"}, password="123")
    assert not User.objects.filter(username="pia").exists()


def test_a_taken_user_name_is_refused(adam):
    user("pia")
    with pytest.raises(services.TransitionRefused, match="taken"):
        services.person_create(user=adam, values={"username": "PIA"}, password=PASSWORD)


@pytest.mark.parametrize("role", ["editor", "approver", "auditor", None])
def test_only_admins_of_every_target_create_people_and_the_refusal_is_recorded(role):
    someone = user("sam", *([role] if role else []))
    with pytest.raises(services.PermissionRefused):
        services.person_create(user=someone, values={"username": "pia"}, password=PASSWORD)
    row = refused("not_admin")
    assert row.event == Event.ACCESS_DENIED and row.actor_id == someone.pk


def test_a_target_admin_cannot_create_people():
    target = make_target()
    tad = grant(user("tad"), "admin", target)
    with pytest.raises(services.PermissionRefused):
        services.person_create(user=tad, values={"username": "pia"}, password=PASSWORD)


def test_an_admin_grants_and_removes_a_role_on_one_target(adam):
    target = make_target()
    pia = user("pia")
    services.role_grant(user=adam, person_id=pia.pk, role="approver", target_id=target.pk)
    assert access.roles_on(fresh(pia), target) == {"approver"}
    [row] = rows(Event.ROLE_GRANTED)
    assert row.target_id == target.pk
    assert row.details["before"]["roles_per_target"] == {}
    assert row.details["after"]["roles_per_target"] == {"prod-eu": ["approver"]}

    services.role_remove(user=adam, person_id=pia.pk, role="approver", target_id=target.pk)
    assert access.roles_on(fresh(pia), target) == frozenset()
    [row] = rows(Event.ROLE_REMOVED)
    assert row.details["after"]["roles_per_target"] == {}


def test_granting_a_role_held_already_does_nothing(adam):
    pia = user("pia", "editor")
    assert services.role_grant(user=adam, person_id=pia.pk, role="editor") is None
    assert rows(Event.ROLE_GRANTED) == []


def test_an_unknown_role_is_refused_in_words(adam):
    pia = user("pia")
    with pytest.raises(services.TransitionRefused, match="no role named"):
        services.role_grant(user=adam, person_id=pia.pk, role="superuser")


def test_nobody_grants_a_role_to_themselves():
    target = make_target()
    tad = grant(user("tad"), "admin", target)
    with pytest.raises(services.PermissionRefused, match="yourself"):
        services.role_grant(user=tad, person_id=tad.pk, role="approver", target_id=target.pk)
    assert refused("self").event == Event.ACCESS_DENIED
    assert not TargetRole.objects.filter(user=tad, group__name="approver").exists()


def test_a_target_admin_cannot_raise_themselves_to_admin_everywhere():
    target = make_target()
    tad = grant(user("tad"), "admin", target)
    with pytest.raises(services.PermissionRefused, match="every target"):
        services.role_grant(user=tad, person_id=tad.pk, role="admin")
    assert refused("not_admin")
    assert not fresh(tad).groups.exists()


def test_a_target_admin_grants_roles_only_on_their_target():
    target, other = make_target(), make_target("dev-eu")
    tad = grant(user("tad"), "admin", target)
    pia = user("pia")
    services.role_grant(user=tad, person_id=pia.pk, role="editor", target_id=target.pk)
    with pytest.raises(services.PermissionRefused):
        services.role_grant(user=tad, person_id=pia.pk, role="editor", target_id=other.pk)
    with pytest.raises(services.PermissionRefused):
        services.role_grant(user=tad, person_id=pia.pk, role="editor")


def test_an_admin_cannot_change_their_own_standing(adam):
    for act in (
        lambda: services.person_deactivate(user=adam, person_id=adam.pk),
        lambda: services.person_reset_password(user=adam, person_id=adam.pk, password=PASSWORD),
        lambda: services.role_remove(user=adam, person_id=adam.pk, role="admin"),
    ):
        with pytest.raises(services.PermissionRefused):
            act()
        assert refused("self")
    assert fresh(adam).is_active and fresh(adam).groups.filter(name="admin").exists()


def test_a_superusers_account_is_left_to_the_command_line(adam):
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    with pytest.raises(services.PermissionRefused, match="command line"):
        services.person_deactivate(user=adam, person_id=root.pk)
    assert fresh(root).is_active


def test_deactivating_takes_effect_at_once_and_reactivating_brings_the_person_back(adam):
    pia = user("pia", "editor")
    services.person_deactivate(user=adam, person_id=pia.pk)
    assert not fresh(pia).is_active
    assert not access.has_any_role(fresh(pia))
    assert services.person_deactivate(user=adam, person_id=pia.pk) is None  # no-op
    services.person_reactivate(user=adam, person_id=pia.pk)
    assert fresh(pia).is_active
    assert [r.event for r in HistoryEvent.objects.order_by("id")] == [
        Event.USER_DEACTIVATED,
        Event.USER_REACTIVATED,
    ]


def test_an_admin_resets_a_password_and_the_history_keeps_no_hash(adam):
    pia = user("pia", "editor", password="old password 1")
    services.person_reset_password(user=adam, person_id=pia.pk, password=PASSWORD)
    assert fresh(pia).check_password(PASSWORD)
    [row] = rows(Event.PASSWORD_RESET)
    assert fresh(pia).password not in str(row.details)
    assert AccessChange.objects.get().password_hash == ""


# --- two administrators: changes that give standing wait -------------------------------------


def test_with_a_second_admin_a_grant_waits_for_their_confirmation(adam, bea):
    target = make_target()
    pia = user("pia")
    change = services.role_grant(user=adam, person_id=pia.pk, role="approver", target_id=target.pk)
    assert change.state == AccessState.PENDING
    assert access.roles_on(fresh(pia), target) == frozenset()
    [pending] = rows(Event.ACCESS_PENDING)
    assert pending.details["after"]["roles_per_target"] == {}

    with pytest.raises(services.PermissionRefused, match="another administrator"):
        services.access_change_confirm(user=adam, change_id=change.pk)
    assert refused("four_eyes")

    services.access_change_confirm(user=bea, change_id=change.pk)
    assert access.roles_on(fresh(pia), target) == {"approver"}
    [confirmed] = rows(Event.ACCESS_CONFIRMED)
    assert confirmed.actor_id == bea.pk and confirmed.details["asked_by"] == "adam"
    assert confirmed.details["after"]["roles_per_target"] == {"prod-eu": ["approver"]}
    # Confirming again does nothing.
    services.access_change_confirm(user=bea, change_id=change.pk)
    assert len(rows(Event.ACCESS_CONFIRMED)) == 1


def test_a_declined_access_change_never_takes_effect(adam, bea):
    pia = user("pia")
    change = services.role_grant(user=adam, person_id=pia.pk, role="editor")
    services.access_change_decline(user=bea, change_id=change.pk)
    assert not fresh(pia).groups.exists()
    assert AccessChange.objects.get().state == AccessState.DECLINED
    with pytest.raises(services.TransitionRefused):
        services.access_change_confirm(user=bea, change_id=change.pk)
    assert len(rows(Event.ACCESS_DECLINED)) == 1


def test_a_new_account_waits_inactive_for_the_second_admin(adam, bea):
    change = services.person_create(user=adam, values={"username": "pia"}, password=PASSWORD)
    assert change.state == AccessState.PENDING
    assert not User.objects.get(username="pia").is_active
    services.access_change_confirm(user=bea, change_id=change.pk)
    assert User.objects.get(username="pia").is_active


def test_a_pending_reset_keeps_the_old_password_until_confirmed(adam, bea):
    pia = user("pia", "editor", password="old password 1")
    change = services.person_reset_password(user=adam, person_id=pia.pk, password=PASSWORD)
    assert fresh(pia).check_password("old password 1")
    services.access_change_confirm(user=bea, change_id=change.pk)
    assert fresh(pia).check_password(PASSWORD)
    assert AccessChange.objects.get().password_hash == ""


def test_the_subject_cannot_confirm_their_own_access_change(adam, bea):
    change = services.role_grant(user=adam, person_id=bea.pk, role="approver")
    with pytest.raises(services.PermissionRefused, match="about you"):
        services.access_change_confirm(user=bea, change_id=change.pk)


def test_removing_a_role_never_waits(adam, bea):
    pia = user("pia", "approver")
    change = services.role_remove(user=adam, person_id=pia.pk, role="approver")
    assert change is not None and change.state == AccessState.APPLIED
    assert not fresh(pia).groups.exists()


def test_removing_a_role_cancels_its_pending_grant(adam, bea):
    pia = user("pia")
    services.role_grant(user=adam, person_id=pia.pk, role="approver")
    assert services.role_remove(user=adam, person_id=pia.pk, role="approver") is None
    assert AccessChange.objects.get().state == AccessState.CANCELLED


def test_a_target_admin_may_confirm_a_grant_on_their_target_only(adam):
    target = make_target()
    tad = grant(user("tad"), "admin", target)
    pia = user("pia")
    on_target = services.role_grant(user=adam, person_id=pia.pk, role="editor", target_id=target.pk)
    assert on_target.state == AccessState.PENDING  # tad is a second admin of prod-eu
    everywhere = services.role_grant(user=adam, person_id=pia.pk, role="editor")
    assert everywhere.state == AccessState.APPLIED  # nobody else administers every target
    with pytest.raises(services.PermissionRefused):
        services.access_change_confirm(user=tad, change_id=everywhere.pk)
    services.access_change_confirm(user=tad, change_id=on_target.pk)
    assert access.roles_on(fresh(pia), target) == {"editor"}


# --- the four-eyes rule: the attacks -----------------------------------------------------------


def _puppet(admin: User, username: str, role: str) -> User:
    """`admin` alone creates an account and gives it `role` everywhere."""
    services.person_create(user=admin, values={"username": username}, password=PASSWORD)
    person = User.objects.get(username=username)
    services.role_grant(user=admin, person_id=person.pk, role=role)
    return fresh(person)


def _approve(change, approver: User):
    change.refresh_from_db()
    return services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.review_hash
    )


def test_the_puppet_approver_does_not_count(adam):
    adam.groups.add(*user("tmp", "editor").groups.all())  # adam also edits
    adam = fresh(adam)
    puppet = _puppet(adam, "puppet", "approver")
    change = submitted(adam, live_framework(make_target()))
    change = _approve(change, puppet)
    assert change.state == ChangeState.SUBMITTED
    [row] = rows(Event.APPROVED)
    assert row.details["approvals"] == 0
    [note] = row.details["not_counted"]
    assert note["reviewer"] == "puppet"
    assert "adam, the author, set up puppet's standing" in note["reason"]


def test_two_puppets_of_one_admin_cannot_make_a_change_count(adam):
    author = _puppet(adam, "writer", "editor")
    approver = _puppet(adam, "checker", "approver")
    change = _approve(submitted(author, live_framework(make_target())), approver)
    assert change.state == ChangeState.SUBMITTED
    [note] = rows(Event.APPROVED)[0].details["not_counted"]
    assert "adam set up both the author's and checker's standing" in note["reason"]


def test_a_password_reset_of_a_real_approver_by_the_author_admin_does_not_count(adam):
    adam.groups.add(*user("tmp", "editor").groups.all())
    approver = user("alice", "approver", password="alice's own password")
    services.person_reset_password(user=adam, person_id=approver.pk, password=PASSWORD)
    change = _approve(submitted(fresh(adam), live_framework(make_target())), approver)
    assert change.state == ChangeState.SUBMITTED
    assert rows(Event.APPROVED)[0].details["not_counted"]


def test_an_approver_admin_cannot_approve_the_change_of_an_author_they_set_up(adam):
    adam.groups.add(*user("tmp", "approver").groups.all())  # on the command line
    author = _puppet(adam, "writer", "editor")
    change = _approve(submitted(author, live_framework(make_target())), fresh(adam))
    assert change.state == ChangeState.SUBMITTED
    [note] = rows(Event.APPROVED)[0].details["not_counted"]
    assert note["reason"].startswith("adam set up the author's standing here")


def test_a_second_admins_confirmation_makes_the_approval_count(adam, bea):
    author, target = user("erin", "editor"), make_target()
    pia = user("pia")
    grant_change = services.role_grant(user=adam, person_id=pia.pk, role="approver")
    services.access_change_confirm(user=bea, change_id=grant_change.pk)
    change = _approve(submitted(author, live_framework(target)), fresh(pia))
    assert change.state == ChangeState.APPROVED


def test_a_confirmation_after_the_fact_makes_an_unconfirmed_set_up_count(adam):
    author = _puppet(adam, "writer", "editor")
    approver = _puppet(adam, "checker", "approver")
    change = _approve(submitted(author, live_framework(make_target())), approver)
    [approval] = change.current_approvals()
    assert segregation.approval_counts(change, approval)[0] is False
    bea = user("bea", "admin")
    for setup in AccessChange.objects.filter(subject=approver):
        services.access_change_confirm(user=bea, change_id=setup.pk)
    assert segregation.approval_counts(change, approval) == (True, "")


def test_an_approver_set_up_by_an_admin_who_did_not_set_up_the_author_counts(adam):
    author = user("erin", "editor")  # made on the command line: nobody in the console behind
    approver = _puppet(adam, "pia", "approver")
    change = _approve(submitted(author, live_framework(make_target())), approver)
    assert change.state == ChangeState.APPROVED


def test_four_eyes_is_guaranteed_only_with_two_admins_of_the_target(adam):
    target = make_target()
    assert not segregation.four_eyes_guaranteed(target)
    grant(user("tad"), "admin", target)
    assert segregation.four_eyes_guaranteed(target)
