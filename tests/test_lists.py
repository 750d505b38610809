"""The Changes page and the frameworks list's search, filters and sorting: what each shows,
for whom, and what it costs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from frameworks.models import ChangeState
from tests.conftest import client_for
from tests.factories import (
    draft,
    grant,
    live_framework,
    make_framework,
    make_target,
    set_state,
    submitted,
    user,
    with_hash,
)

pytestmark = pytest.mark.django_db

CHANGES = reverse("frameworks:change-list")
LIST = reverse("frameworks:list")


def _body(client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


# --- the Changes page ---------------------------------------------------------------------


def test_the_changes_page_is_in_the_navigation_and_links_every_change(editor, auditor):
    framework = live_framework()
    mine = draft(editor, framework)
    body = _body(client_for(auditor), LIST)
    assert f'href="{CHANGES}"' in body and ">Changes</a>" in body
    body = _body(client_for(auditor), CHANGES)
    assert (
        f'<a href="{reverse("frameworks:change-detail", args=[mine.pk])}">Change #{mine.pk}</a>'
        in body
    )
    assert "1 change." in body


def test_changes_filter_by_state_author_target_framework_and_mine(editor, other_editor):
    first = live_framework(name="daily")
    second = live_framework(make_target("dev-us", region="us-east-1"), name="weekly")
    a = submitted(editor, first)
    b = draft(other_editor, second)
    c = draft(other_editor, live_framework(first.target, name="monthly"))
    client = client_for(editor)

    def shown(**params: str) -> set[int]:
        body = _body(client, CHANGES, **params)
        return {x.pk for x in (a, b, c) if f">Change #{x.pk}<" in body}

    assert shown() == {a.pk, b.pk, c.pk}
    assert shown(state="submitted") == {a.pk}
    assert shown(state="draft") == {b.pk, c.pk}
    assert shown(author="eddie") == {b.pk, c.pk}
    assert shown(target="dev-us") == {b.pk}
    assert shown(framework="monthly") == {c.pk}
    assert shown(mine="1") == {a.pk}
    assert shown(state="nonsense", page="x") == {a.pk, b.pk, c.pk}  # unknown values ignored


def test_every_change_state_is_offered_as_a_filter(editor):
    body = _body(client_for(editor), CHANGES)
    for value, label in ChangeState.choices:
        assert f'<option value="{value}">{label}</option>' in body


def test_changes_in_targets_the_viewer_cannot_see_are_not_listed():
    seen, hidden = make_target("seen"), make_target("hidden")
    author = grant(user("writer"), "editor", seen)
    grant(author, "editor", hidden)
    viewer = grant(user("looker"), "auditor", seen)
    visible = draft(author, live_framework(seen))
    secret = draft(author, live_framework(hidden, name="secret"))
    body = _body(client_for(viewer), CHANGES)
    assert f">Change #{visible.pk}<" in body
    assert f">Change #{secret.pk}<" not in body and "secret" not in body
    assert client_for(user("nobody")).get(CHANGES).status_code == 403


@pytest.mark.parametrize("size", [2, 30])
def test_the_changes_page_takes_the_same_queries_at_any_size(
    editor, django_assert_num_queries, size
):
    for t in range(2):
        target = make_target(f"t-{t}")
        for i in range(size // 2):
            draft(editor, live_framework(target, name=f"f_{i}"))
    client = client_for(editor)
    # session, user, groups, target roles, targets, filter choices, count, rows
    with django_assert_num_queries(8):
        response = client.get(CHANGES, {"state": "draft"})
    assert response.content.decode().count(">Change #") == 2 * (size // 2)


def test_the_framework_page_names_an_open_change_to_it(editor, auditor):
    framework = live_framework()
    change = submitted(editor, framework)
    body = _body(client_for(auditor), framework.get_absolute_url())
    assert "A change to this framework is submitted" in body
    link = reverse("frameworks:change-detail", args=[change.pk])
    assert f'<a href="{link}">change #{change.pk}</a> by erin' in body
    set_state(change, ChangeState.APPLIED)
    body = _body(client_for(auditor), framework.get_absolute_url())
    assert "A change to this framework is" not in body


def test_history_rows_link_their_change(editor, auditor):
    framework = live_framework()
    change = draft(editor, framework)
    body = _body(client_for(auditor), framework.get_absolute_url())
    assert (
        f'<a href="{reverse("frameworks:change-detail", args=[change.pk])}">change #{change.pk}</a>'
        in body
    )


# --- the frameworks list ------------------------------------------------------------------


@pytest.fixture
def estate(db):
    """Two accounts, two Regions, frameworks with different controls and statuses."""
    prod = make_target("prod-eu", account_id="111111111111", region="eu-west-1")
    dev = make_target("dev-us", account_id="222222222222", region="us-east-1")
    make_framework(prod, "daily_backups", deployment_status="COMPLETED")
    vault = make_framework(prod, "vault_rules", deployment_status="FAILED")
    vault.controls = [{"ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK"}]
    vault.save(update_fields=["controls"])
    make_framework(dev, "weekly_checks", deployment_status="IN_PROGRESS")
    return prod, dev


def _names(client, **params: str) -> list[str]:
    body = _body(client, LIST, **params)
    names = ["daily_backups", "vault_rules", "weekly_checks"]
    found = [n for n in names if f">{n}</a>" in body]
    return sorted(found, key=lambda n: body.index(f">{n}</a>"))


def test_the_list_is_searched_by_name_or_control_and_filtered(estate, auditor):
    client = client_for(auditor)
    # Grouped by account and Region (Dev Us before Prod Eu), by name inside each.
    assert _names(client) == ["weekly_checks", "daily_backups", "vault_rules"]
    assert _names(client, q="weekly") == ["weekly_checks"]
    # By the control's console title, and by its API name.
    assert _names(client, q="vault lock") == ["vault_rules"]
    assert _names(client, q="MINIMUM_RETENTION") == ["weekly_checks", "daily_backups"]
    assert _names(client, account="222222222222") == ["weekly_checks"]
    assert _names(client, region="eu-west-1") == ["daily_backups", "vault_rules"]
    assert _names(client, status="FAILED") == ["vault_rules"]
    assert _names(client, q="nothing-like-it") == []
    assert "No framework matches" in _body(client, LIST, q="nothing-like-it")


def test_the_list_sorts_by_name_status_and_last_change(estate, editor, auditor):
    prod, _ = estate
    client = client_for(auditor)
    # COMPLETED before FAILED.
    assert _names(client, region="eu-west-1", sort="status") == ["daily_backups", "vault_rules"]
    draft(editor, with_hash(prod.frameworks.get(name="vault_rules")))
    expected = ["vault_rules", "daily_backups"]  # the one with history first
    assert _names(client, region="eu-west-1", sort="last_change") == expected
    assert _names(client, region="eu-west-1", sort="junk") == ["daily_backups", "vault_rules"]


def test_the_filters_are_kept_in_the_page_they_drew(estate, auditor):
    body = _body(client_for(auditor), LIST, q="vault", region="eu-west-1", sort="status")
    assert 'name="q" value="vault"' in body
    assert '<option value="eu-west-1" selected>' in body
    assert '<option value="status" selected>' in body


@pytest.mark.parametrize("size", [3, 50])
def test_the_filtered_list_takes_the_same_queries_at_any_size(
    auditor, django_assert_num_queries, size
):
    for t in range(size):
        target = make_target(f"acct-{t}", account_id=f"{t:012d}")
        make_framework(target, f"f_{t}", controls=3)
    client = client_for(auditor)
    # session, user, groups, target roles, targets, frameworks
    with django_assert_num_queries(6):
        response = client.get(LIST, {"q": "f_", "sort": "last_change", "status": "COMPLETED"})
    assert response.content.decode().count('<a class="wrap" href=') == size
