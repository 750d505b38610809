"""The change page's buttons, for every action, role and state: what ``allowed_actions`` says,
what the page shows, and that each shown action is one its service then lets the person take.

The expected answer is the review views' table (``tests/test_review_views.expected``) plus the
draft's own rule: its author, or an admin of its target, edits and discards it.
"""

from __future__ import annotations

import re
from dataclasses import fields

import pytest
from django.urls import reverse

from frameworks import services
from tests.conftest import client_for
from tests.factories import change_in
from tests.test_review_views import ACTIONS, OK, STATES, expected

pytestmark = pytest.mark.django_db

ROLES = [
    "author",
    "other_editor",
    "approver",
    "auditor",
    "admin",
    "target_admin",
    "outsider",
    "foreign_approver",
]
# The page's name of each of allowed_actions' fields.
ON_PAGE = {f.name: f.name.replace("_", "-") for f in fields(services.AllowedActions)}


def as_admin(role: str) -> str:
    """An admin of this one target may what an admin of every target may, here."""
    return "admin" if role == "target_admin" else role


def expected_actions(role: str, state: str) -> set[str]:
    allowed = {action for action in ACTIONS if expected(action, as_admin(role), state) == OK}
    # Rebasing a draft whose base is still live changes nothing, so it is not offered.
    if state == "draft":
        allowed.discard("rebase")
    if state == "draft" and role in ("author", "admin", "target_admin"):
        allowed |= {"edit", "discard"}
    return allowed


def offered(html: str) -> set[str]:
    """The actions the page offers: a form per transition, a link to edit the draft."""
    found = set(re.findall(r'action="/frameworks/changes/\d+/([\w-]+)/"', html))
    if re.search(r'href="/frameworks/changes/\d+/edit/">Edit the draft<', html):
        found.add("edit")
    return found


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_allowed_actions_answers_as_the_services_rules_say(role, state, people):
    change = change_in(state, people)
    allowed = services.allowed_actions(people[role], change)
    said = {ON_PAGE[name] for name in ON_PAGE if getattr(allowed, name)}
    assert said == expected_actions(role, state)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_the_page_shows_exactly_the_allowed_actions(role, state, people):
    change = change_in(state, people)
    response = client_for(people[role]).get(reverse("frameworks:change-detail", args=[change.pk]))
    if role in ("outsider", "foreign_approver"):
        assert response.status_code == 404  # to them the change does not exist
        return
    assert response.status_code == 200
    # Discarding is the editor page's button, not the change page's.
    assert offered(response.content.decode()) == expected_actions(role, state) - {"discard"}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_the_edit_link_is_shown_exactly_to_those_the_editor_lets_in(role, state, people):
    change = change_in(state, people)
    allowed = services.allowed_actions(people[role], change)
    response = client_for(people[role]).get(reverse("frameworks:change-edit", args=[change.pk]))
    assert (response.status_code == 200) == allowed.edit


def test_a_target_admin_who_did_not_write_a_draft_is_offered_to_edit_it(people):
    change = change_in("draft", people)
    page = client_for(people["target_admin"]).get(
        reverse("frameworks:change-detail", args=[change.pk])
    )
    assert "Edit the draft" in page.content.decode()


def test_the_buttons_ask_the_database_nothing_more(people, django_assert_num_queries):
    change = change_in("submitted", people)
    change = type(change).objects.select_related("target", "framework").get(pk=change.pk)
    services.allowed_actions(people["approver"], change)  # the roles, read once per user
    with django_assert_num_queries(0):
        services.allowed_actions(people["approver"], change)
