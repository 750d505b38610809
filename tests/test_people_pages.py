"""The People pages for every role, the forms' posts, the query counts, the four-eyes notices,
the change page's word on approvals that do not count, and the read-only Django admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from frameworks import services
from frameworks.models import AccessChange, AccessState, Event, HistoryEvent, TargetRole
from tests.conftest import client_for
from tests.factories import grant, live_framework, make_target, submitted, user

pytestmark = pytest.mark.django_db

PASSWORD = "a long temporary passphrase 42"


def url(name: str, *args: object) -> str:
    return reverse(f"frameworks:{name}", args=args)


@pytest.fixture
def adam(db: None) -> User:
    return user("adam", "admin")


@pytest.mark.parametrize("role", ["editor", "approver", "auditor", None])
def test_people_pages_are_for_administrators_only(role):
    someone = user("sam", *([role] if role else []))
    pia = user("pia")
    client = client_for(someone)
    for page in (url("people"), url("person-new"), url("person-detail", pia.pk)):
        assert client.get(page).status_code == 403
    response = client.post(url("person-grant", pia.pk), {"role": "approver", "where": "x"})
    assert response.status_code == 403
    for action in ("person-remove", "person-deactivate", "person-reactivate", "person-password"):
        assert client.post(url(action, pia.pk), {"password": PASSWORD}).status_code == 403
    assert not pia.groups.exists()


def test_the_people_list_shows_roles_everywhere_and_per_target(adam):
    target = make_target()
    grant(user("pia", "editor"), "approver", target)
    User.objects.filter(pk=user("olive").pk).update(is_active=False)
    page = client_for(adam).get(url("people")).content.decode()
    assert "pia" in page and "editor" in page and "approver of Prod Eu" in page
    assert "deactivated" in page
    assert "People" in page  # the navigation link


def test_a_target_admin_sees_only_their_targets_grants():
    target, other = make_target(), make_target("dev-eu", display_name="Development EU")
    tad = grant(user("tad"), "admin", target)
    grant(user("pia"), "approver", other)
    page = client_for(tad).get(url("people")).content.decode()
    assert "pia" in page and "Development EU" not in page
    assert client_for(tad).get(url("person-new")).status_code == 403


def test_creating_a_person_through_the_page_ignores_superuser_and_staff(adam):
    response = client_for(adam).post(
        url("person-new"),
        {"username": "pia", "password": PASSWORD, "is_superuser": "on", "is_staff": "on"},
    )
    pia = User.objects.get(username="pia")
    assert response.status_code == 302 and response["Location"] == url("person-detail", pia.pk)
    assert not pia.is_superuser and not pia.is_staff


def test_a_weak_password_on_the_create_page_is_named(adam):
    response = client_for(adam).post(url("person-new"), {"username": "pia", "password": "1"})
    assert response.status_code == 200
    assert "Temporary password" in response.content.decode()
    assert not User.objects.filter(username="pia").exists()


def test_granting_and_removing_through_the_person_page(adam):
    target = make_target()
    pia = user("pia")
    client = client_for(adam)
    response = client.post(url("person-grant", pia.pk), {"role": "approver", "where": target.pk})
    assert response.status_code == 302
    assert TargetRole.objects.filter(user=pia, target=target, group__name="approver").exists()
    response = client.post(url("person-remove", pia.pk), {"role": "approver", "target": target.pk})
    assert not TargetRole.objects.exists()
    assert "Done" in client.get(response["Location"]).content.decode()


def test_granting_oneself_through_the_page_is_403_and_recorded(adam):
    response = client_for(adam).post(
        url("person-grant", adam.pk), {"role": "approver", "where": "everywhere"}
    )
    assert response.status_code == 403
    assert HistoryEvent.objects.get(event=Event.ACCESS_DENIED).details["code"] == "self"


def test_a_forged_target_on_the_grant_form_is_refused(adam):
    other = make_target()
    tad = grant(user("tad"), "admin", make_target("dev-eu"))
    pia = user("pia")
    response = client_for(tad).post(
        url("person-grant", pia.pk), {"role": "editor", "where": other.pk}
    )
    assert response.status_code == 302
    assert not TargetRole.objects.filter(user=pia).exists()


def test_deactivate_reactivate_and_reset_through_the_page(adam):
    pia = user("pia", "editor", password="old password 1")
    client = client_for(adam)
    client.post(url("person-deactivate", pia.pk))
    assert not User.objects.get(pk=pia.pk).is_active
    client.post(url("person-reactivate", pia.pk))
    assert User.objects.get(pk=pia.pk).is_active
    client.post(url("person-password", pia.pk), {"password": PASSWORD})
    assert User.objects.get(pk=pia.pk).check_password(PASSWORD)


def test_the_second_admin_confirms_from_the_people_list(adam):
    bea = user("bea", "admin")
    pia = user("pia")
    client_for(adam).post(url("person-grant", pia.pk), {"role": "editor", "where": "everywhere"})
    change = AccessChange.objects.get()
    assert change.state == AccessState.PENDING
    # adam sees it waiting but has no button for it.
    assert (
        "another administrator must decide" in client_for(adam).get(url("people")).content.decode()
    )
    assert client_for(adam).post(url("access-confirm", change.pk)).status_code == 403
    response = client_for(bea).post(url("access-confirm", change.pk), {"back": "list"})
    assert response["Location"] == url("people")
    assert pia.groups.filter(name="editor").exists()


def test_person_actions_answer_405_to_get_and_404_for_nobody(adam):
    client = client_for(adam)
    assert client.get(url("person-grant", adam.pk)).status_code == 405
    assert client.get(url("access-confirm", 1)).status_code == 405
    assert client.get(url("person-detail", 9999)).status_code == 404
    assert client.post(url("person-deactivate", 9999)).status_code == 404
    assert client.post(url("access-confirm", 9999)).status_code == 404


@pytest.mark.parametrize("size", [2, 12])
def test_the_people_list_takes_the_same_queries_at_any_size(adam, size, django_assert_num_queries):
    targets = [make_target(f"t{i}") for i in range(3)]
    for i in range(size):
        person = user(f"p{i}", "editor")
        grant(person, "approver", targets[i % 3])
    services.role_grant(user=adam, person_id=user("waiting").pk, role="auditor")
    client = client_for(adam)
    # Session, user, groups and target roles (access), the people with their groups, grants and
    # pending changes, the pending list, the managed targets and their admins (everywhere, and
    # per target).
    with django_assert_num_queries(12):
        assert client.get(url("people")).status_code == 200


@pytest.mark.parametrize("size", [1, 10])
def test_the_person_page_takes_the_same_queries_at_any_size(adam, size, django_assert_num_queries):
    target = make_target()
    pia = user("pia")
    for i in range(size):
        grant(pia, "editor", make_target(f"t{i}"))
        services.role_grant(user=adam, person_id=pia.pk, role="approver", target_id=target.pk)
        services.role_remove(user=adam, person_id=pia.pk, role="approver", target_id=target.pk)
    client = client_for(adam)
    # Session, user, groups and target roles (access), the person with their groups, grants and
    # pending changes, their access changes, and the targets of the grant form.
    with django_assert_num_queries(10):
        assert client.get(url("person-detail", pia.pk)).status_code == 200


# --- the four-eyes notice and the change page -------------------------------------------------


def test_a_target_with_one_admin_says_four_eyes_cannot_be_guaranteed(adam):
    target = make_target()
    framework = live_framework(target)
    client = client_for(adam)
    notice = "four eyes cannot be guaranteed here"
    assert notice in client.get(framework.get_absolute_url()).content.decode()
    assert notice in client.get(url("target-detail", target.slug)).content.decode()
    user("bea", "admin")
    assert notice not in client.get(framework.get_absolute_url()).content.decode()


def test_the_change_page_says_why_a_puppets_approval_does_not_count(adam):
    adam.groups.add(*user("tmp", "editor").groups.all())
    adam = User.objects.get(pk=adam.pk)
    services.person_create(user=adam, values={"username": "puppet"}, password=PASSWORD)
    puppet = User.objects.get(username="puppet")
    services.role_grant(user=adam, person_id=puppet.pk, role="approver")
    change = submitted(adam, live_framework(make_target()))
    services.change_request_approve(
        user=User.objects.get(pk=puppet.pk), change_id=change.pk, content_hash=change.review_hash
    )
    page = client_for(adam).get(url("change-detail", change.pk)).content.decode()
    assert "This approval does not count: adam, the author, set up puppet" in page
    assert "0 of 1 approval" in page


# --- the Django admin shows, never changes --------------------------------------------------


def test_the_django_admin_is_read_only_for_people_roles_and_targets():
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    pia = user("pia")
    target = make_target()
    client = client_for(root)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get(f"/admin/auth/user/{pia.pk}/change/").status_code == 200
    assert client.get("/admin/auth/user/add/").status_code == 403
    response = client.post(
        f"/admin/auth/user/{pia.pk}/change/", {"username": "pia", "is_superuser": "on"}
    )
    assert response.status_code == 403
    assert not User.objects.get(pk=pia.pk).is_superuser
    assert client.get(f"/admin/auth/user/{pia.pk}/password/").status_code == 403
    assert client.get("/admin/auth/group/add/").status_code == 403
    assert client.get("/admin/frameworks/targetrole/add/").status_code == 403
    assert client.get("/admin/frameworks/target/add/").status_code == 403
    assert client.post(f"/admin/frameworks/target/{target.pk}/delete/").status_code == 403
