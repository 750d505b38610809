"""Targets managed in the product: the services (each guard, each history row) and the
administrators' pages for every role."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from frameworks import services
from frameworks.models import ChangeState, Event, HistoryEvent, Outcome, Target
from tests.conftest import ACCOUNT_2, client_for
from tests.factories import grant, live_framework, make_target, set_state, submitted

pytestmark = pytest.mark.django_db

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_2}:role/BackupFrameworksConsole"
EXTERNAL_ID = "console-external-id"


def values(**overrides: Any) -> dict[str, Any]:
    base = {
        "slug": "prod-us",
        "display_name": "Production US",
        "region": "us-east-1",
        "profile": "acct1",
        "role_arn": ROLE_ARN,
        "external_id": EXTERNAL_ID,
        "endpoint_url": "",
        "required_approvals": 2,
        "notify_emails": ["backup-team@example.com"],
        "max_frameworks": 15,
        "max_controls": 50,
    }
    base.update(overrides)
    return base


def rows(event: str) -> list[HistoryEvent]:
    return list(HistoryEvent.objects.filter(event=event).order_by("id"))


# --- services ------------------------------------------------------------------------------


def test_an_admin_adds_a_target_and_the_history_says_who_and_what(admin_user: User) -> None:
    target = services.target_add(user=admin_user, values=values())
    assert Target.objects.get(slug="prod-us").role_arn == ROLE_ARN
    [row] = rows(Event.TARGET_ADDED)
    assert (row.actor_id, row.actor_name, row.target_id) == (admin_user.pk, "adam", target.pk)
    assert row.details["subject"] == "target prod-us"
    assert row.details["before"] is None
    assert row.details["after"]["external_id"] == EXTERNAL_ID
    assert row.details["after"]["required_approvals"] == 2


@pytest.mark.parametrize("role", ["editor", "approver", "auditor", "outsider"])
def test_only_admins_add_targets_and_the_refusal_is_recorded(
    role: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(role)
    with pytest.raises(services.PermissionRefused, match="Only administrators may add targets"):
        services.target_add(user=user, values=values())
    assert not Target.objects.exists()
    [row] = rows(Event.ACCESS_DENIED)
    assert (row.actor_id, row.outcome, row.details["action"]) == (
        user.pk,
        Outcome.DENIED,
        "add target",
    )


def test_a_bad_value_is_refused_naming_the_field(admin_user: User) -> None:
    with pytest.raises(services.TransitionRefused, match=r"^Role to assume: Enter a role ARN"):
        services.target_add(user=admin_user, values=values(role_arn="prod-role"))
    with pytest.raises(services.TransitionRefused, match=r"^Region: Enter a Region code"):
        services.target_add(user=admin_user, values=values(region="Europe"))
    assert not Target.objects.exists()
    assert len(rows(Event.REFUSED)) == 2


def test_changing_a_target_records_before_and_after(admin_user: User) -> None:
    target = make_target("prod-eu", account_id="111111111111", profile="acct1")
    services.target_change(
        user=admin_user,
        target_id=target.pk,
        values={"required_approvals": 3, "role_arn": ROLE_ARN, "external_id": EXTERNAL_ID},
    )
    target.refresh_from_db()
    assert target.required_approvals == 3
    # How AWS is reached changed: the account id is unproven until tested again.
    assert target.account_id == ""
    [row] = rows(Event.TARGET_CHANGED)
    assert row.details["before"]["required_approvals"] == 1
    assert row.details["after"]["required_approvals"] == 3
    assert row.details["before"]["role_arn"] == ""
    assert row.details["after"]["role_arn"] == ROLE_ARN


def test_a_change_that_changes_nothing_writes_nothing(admin_user: User) -> None:
    target = make_target("prod-eu", account_id="111111111111")
    services.target_change(user=admin_user, target_id=target.pk, values={"region": "eu-west-1"})
    target.refresh_from_db()
    assert target.account_id == "111111111111"
    assert not HistoryEvent.objects.exists()


def test_the_slug_cannot_be_changed(admin_user: User) -> None:
    target = make_target("prod-eu")
    with pytest.raises(services.TransitionRefused, match="cannot be changed: slug"):
        services.target_change(user=admin_user, target_id=target.pk, values={"slug": "x"})


def test_an_admin_of_one_target_manages_that_target_only(outsider: User) -> None:
    mine, other = make_target("mine"), make_target("other")
    grant(outsider, "admin", mine)
    services.target_change(user=outsider, target_id=mine.pk, values={"required_approvals": 2})
    with pytest.raises(services.PermissionRefused):
        services.target_change(user=outsider, target_id=other.pk, values={"required_approvals": 2})
    with pytest.raises(services.PermissionRefused):
        services.target_add(user=outsider, values=values())


def test_retiring_needs_a_reason_and_stops_sync(admin_user: User) -> None:
    target = make_target("prod-eu")
    with pytest.raises(services.TransitionRefused, match="Reason: give a reason"):
        services.target_retire(user=admin_user, target_id=target.pk, reason=" ")
    services.target_retire(user=admin_user, target_id=target.pk, reason="account closed")
    target.refresh_from_db()
    assert target.retired
    [row] = rows(Event.TARGET_RETIRED)
    assert row.details["reason"] == "account closed"
    assert row.details["before"] == row.details["after"]
    assert services.sync_all() == []
    # Again: nothing more happens.
    services.target_retire(user=admin_user, target_id=target.pk, reason="again")
    assert len(rows(Event.TARGET_RETIRED)) == 1
    with pytest.raises(services.TransitionRefused, match="is retired"):
        services.target_change(user=admin_user, target_id=target.pk, values={"region": "x"})


def test_a_target_with_changes_under_way_cannot_be_retired(admin_user: User, editor: User) -> None:
    framework = live_framework(make_target("prod-eu"))
    change = set_state(submitted(editor, framework), ChangeState.APPROVED)
    with pytest.raises(services.TransitionRefused, match=f"#{change.pk}"):
        services.target_retire(user=admin_user, target_id=framework.target_id, reason="closed")
    assert not Target.objects.get().retired


# --- testing the connection ----------------------------------------------------------------


@pytest.fixture
def role_target(db: None, emulator: Any) -> Target:
    emulator.control.put_role(ACCOUNT_2, "BackupFrameworksConsole", external_id=EXTERNAL_ID)
    return make_target(
        "prod-us",
        profile="acct1",
        role_arn=ROLE_ARN,
        external_id=EXTERNAL_ID,
        endpoint_url=emulator.url,
    )


def test_a_connection_test_records_the_account_aws_reports(
    admin_user: User, role_target: Target
) -> None:
    result = services.target_test_connection(user=admin_user, target_id=role_target.pk)
    assert result.ok
    assert str(result) == (
        f"Connected to account {ACCOUNT_2} as arn:aws:sts::{ACCOUNT_2}:assumed-role/"
        "BackupFrameworksConsole/backup-frameworks-console; 0 frameworks in eu-west-1."
    )
    role_target.refresh_from_db()
    assert role_target.account_id == ACCOUNT_2
    assert role_target.account_checked_at is not None
    [row] = rows(Event.TARGET_CONNECTION_TESTED)
    assert (row.outcome, row.details["account_id"]) == (Outcome.OK, ACCOUNT_2)


def test_a_failed_connection_test_says_which_step_failed_in_words(
    admin_user: User, role_target: Target
) -> None:
    Target.objects.filter(pk=role_target.pk).update(external_id="not-the-one")
    result = services.target_test_connection(user=admin_user, target_id=role_target.pk)
    assert not result.ok
    assert str(result).startswith(
        "Assuming the role failed: AWS refused to let the console assume the role"
    )
    assert "AccessDenied" in str(result)
    [row] = rows(Event.TARGET_CONNECTION_TESTED)
    assert row.outcome == Outcome.ERROR
    assert row.details["error"]["operation"] == "AssumeRole"
    assert Target.objects.get().account_id == ""


def test_only_admins_test_connections(editor: User, role_target: Target) -> None:
    with pytest.raises(services.PermissionRefused):
        services.target_test_connection(user=editor, target_id=role_target.pk)
    assert not rows(Event.TARGET_CONNECTION_TESTED)
    assert len(rows(Event.ACCESS_DENIED)) == 1


# --- pages ---------------------------------------------------------------------------------

OTHERS = ["editor", "approver", "auditor", "outsider"]


def url(name: str, *args: object) -> str:
    return reverse(f"frameworks:target-{name}", args=args)


def test_the_list_shows_every_target_with_the_account_aws_reported(
    admin_user: User, django_assert_num_queries: Any
) -> None:
    make_target("prod-eu", account_id="111111111111")
    make_target("dev-eu", role_arn=ROLE_ARN)
    client = client_for(admin_user)
    client.get(url("list"))  # the session is read once, like any first request
    # Session, user, groups, target roles, then the targets: however many targets there are.
    with django_assert_num_queries(5):
        page = client.get(url("list"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "111111111111" in text and "not yet checked" in text
    assert f"role {ROLE_ARN} through the default credential chain" in text


@pytest.mark.parametrize("role", OTHERS)
@pytest.mark.parametrize("name", ["list", "new"])
def test_target_pages_are_for_admins_only(
    role: str, name: str, request: pytest.FixtureRequest
) -> None:
    page = client_for(request.getfixturevalue(role)).get(url(name))
    assert page.status_code == 403
    assert "administrators" in page.content.decode()


@pytest.mark.parametrize("role", OTHERS)
@pytest.mark.parametrize(
    ("name", "method"),
    [("detail", "get"), ("edit", "get"), ("edit", "post"), ("retire", "post"), ("test", "post")],
)
def test_each_target_page_refuses_everyone_but_admins(
    role: str, name: str, method: str, request: pytest.FixtureRequest
) -> None:
    target = make_target("prod-eu")
    client = client_for(request.getfixturevalue(role))
    page = getattr(client, method)(url(name, target.slug), {"reason": "x", "region": "x"})
    # Someone with no role on the target is told nothing of it: the 404 of a missing one.
    assert page.status_code == (404 if role == "outsider" else 403)
    target.refresh_from_db()
    assert not target.retired and target.region == "eu-west-1"


@pytest.mark.parametrize(
    ("name", "method"), [("detail", "post"), ("retire", "get"), ("test", "get"), ("list", "post")]
)
def test_target_pages_answer_405_to_the_wrong_method(
    admin_user: User, name: str, method: str
) -> None:
    target = make_target("prod-eu")
    args = () if name == "list" else (target.slug,)
    assert getattr(client_for(admin_user), method)(url(name, *args)).status_code == 405


@pytest.mark.parametrize("name", ["detail", "edit"])
def test_an_unknown_target_is_404(admin_user: User, name: str) -> None:
    assert client_for(admin_user).get(url(name, "nope")).status_code == 404


def form_data(**overrides: Any) -> dict[str, Any]:
    data = values(**overrides)
    data["notify_emails"] = "\n".join(data["notify_emails"])
    return data


def test_an_admin_adds_a_target_through_the_form(admin_user: User) -> None:
    client = client_for(admin_user)
    assert client.get(url("new")).status_code == 200
    page = client.post(url("new"), form_data(), follow=True)
    assert page.redirect_chain[-1][0] == url("detail", "prod-us")
    text = page.content.decode()
    assert "Added Production US. Test its connection next." in text
    assert "Target added" in text
    assert Target.objects.get().notify_emails == ["backup-team@example.com"]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"slug": "targets"}, "&#x27;targets&#x27; is taken by the console&#x27;s own pages."),
        ({"role_arn": "", "external_id": "abc"}, "An external id is only used with a role"),
        ({"notify_emails": ["not-an-address"]}, "&#x27;not-an-address&#x27; is not an e-mail"),
        ({"role_arn": "role"}, "Role to assume: Enter a role ARN like"),
        ({"external_id": "x"}, "External id: Enter 2 to 1224 letters"),
    ],
)
def test_the_form_names_the_field_in_each_error(
    admin_user: User, overrides: dict[str, Any], words: str
) -> None:
    page = client_for(admin_user).post(url("new"), form_data(**overrides))
    assert page.status_code == 200
    assert words in page.content.decode()
    assert not Target.objects.exists()


def test_an_admin_changes_a_target_and_sees_the_difference_in_its_history(
    admin_user: User,
) -> None:
    target = make_target("prod-eu")
    client = client_for(admin_user)
    data = form_data(required_approvals=2)
    del data["slug"]
    page = client.post(url("edit", target.slug), data, follow=True)
    text = page.content.decode()
    assert "Saved prod-eu." in text
    assert "required_approvals: 1 → 2" in text
    assert Target.objects.get().slug == "prod-eu"


def test_an_admin_retires_a_target_and_it_leaves_the_frameworks_list(admin_user: User) -> None:
    target = make_target("prod-eu")
    client = client_for(admin_user)
    page = client.post(url("retire", target.slug), {"reason": "account closed"}, follow=True)
    assert "Retired Prod Eu" in page.content.decode()
    assert "account closed" in page.content.decode()
    listing = client.get(reverse("frameworks:list")).content.decode()
    assert "Prod Eu" not in listing
    refused = client.post(url("retire", target.slug), {"reason": ""}, follow=True)
    assert refused.status_code == 200


def test_the_test_button_shows_what_aws_said(admin_user: User, role_target: Target) -> None:
    client = client_for(admin_user)
    page = client.post(url("test", role_target.slug), follow=True).content.decode()
    assert f"Connected to account {ACCOUNT_2}" in page
    assert f"<dd>{ACCOUNT_2} (checked" in page
    Target.objects.filter(pk=role_target.pk).update(external_id="wrong-id")
    page = client.post(url("test", role_target.slug), follow=True).content.decode()
    assert "Assuming the role failed: AWS refused to let the console assume the role" in page


def test_the_notification_addresses_hear_of_every_submission(
    editor: User, approver: User, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    target = make_target("prod-eu", notify_emails=["team@example.com", approver.email])
    with django_capture_on_commit_callbacks(execute=True):
        submitted(editor, live_framework(target))
    to = sorted(tuple(message.to) for message in mailoutbox)
    assert to == [(approver.email,), ("team@example.com",)]


@pytest.mark.parametrize("url", ["audit:page", "frameworks:change-list"])
def test_target_choices_name_the_region_once(auditor: User, url: str) -> None:
    make_target("prod-eu", display_name="Production (eu-west-1)", region="eu-west-1")
    make_target("prod-us", display_name="Production", region="us-east-1")

    page = client_for(auditor).get(reverse(url)).content.decode()

    assert ">Production (eu-west-1)</option>" in page
    assert ">Production (us-east-1)</option>" in page
    assert "(eu-west-1) (eu-west-1)" not in page
