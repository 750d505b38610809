from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from frameworks.models import TargetRole
from tests.conftest import client_for
from tests.factories import make_framework, make_target

pytestmark = pytest.mark.django_db

VIEWERS = {"editor", "approver", "auditor", "admin_user"}
SYNCERS = {"editor", "approver", "admin_user"}


def test_anonymous_visitors_are_sent_to_log_in(client: Client):
    target = make_target()
    framework = make_framework(target)
    for url in [reverse("frameworks:list"), framework.get_absolute_url()]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_list_is_for_every_role_and_no_one_else(role_client):
    role, client = role_client
    target = make_target()
    make_framework(target, "daily_checks")
    response = client.get(reverse("frameworks:list"))
    if role in VIEWERS:
        assert response.status_code == 200
        assert b"daily_checks" in response.content
    else:
        assert response.status_code == 403


def test_the_framework_page_is_for_every_role_and_no_one_else(role_client):
    role, client = role_client
    framework = make_framework(make_target(), "daily_checks")
    response = client.get(framework.get_absolute_url())
    # To someone with no role, the framework does not exist.
    assert response.status_code == (200 if role in VIEWERS else 404)


def test_the_framework_page_describes_controls_in_words(client: Client, auditor):
    target = make_target()
    framework = make_framework(target, "plans", controls=0)
    framework.controls = [
        {
            "ControlName": "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredFrequencyUnit", "ParameterValue": "hours"},
                {"ParameterName": "requiredFrequencyValue", "ParameterValue": "12"},
            ],
            "ControlScope": {"Tags": {"Environment": "prod"}},
        }
    ]
    framework.save()
    response = client_for(auditor).get(framework.get_absolute_url())
    text = response.content.decode()
    assert "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK" in text
    assert "Environment" in text and "prod" in text
    assert "requiredFrequencyValue = 12" in text


def test_unknown_names_are_404(client: Client, auditor):
    target = make_target()
    client = client_for(auditor)
    assert client.get(reverse("frameworks:detail", args=[target.slug, "nope"])).status_code == 404
    assert client.get(reverse("frameworks:detail", args=["no-target", "nope"])).status_code == 404
    assert client.post(reverse("frameworks:target-sync", args=["no-target"])).status_code == 404


def test_wrong_methods_are_405(auditor, editor):
    framework = make_framework(make_target())
    assert client_for(auditor).post(reverse("frameworks:list")).status_code == 405
    assert client_for(auditor).post(framework.get_absolute_url()).status_code == 405
    url = reverse("frameworks:target-sync", args=[framework.target.slug])
    assert client_for(editor).get(url).status_code == 405


def test_sync_now_is_refused_to_auditors_and_outsiders(role_client, monkeypatch):
    role, client = role_client
    target = make_target()
    calls = []
    monkeypatch.setattr(
        "frameworks.services.target_sync",
        lambda *, target_id: calls.append(target_id) or _Done(),
    )
    response = client.post(reverse("frameworks:target-sync", args=[target.slug]))
    if role in SYNCERS:
        assert response.status_code == 302
        assert calls == [target.pk]
    else:
        assert response.status_code == (403 if role == "auditor" else 404)
        assert calls == []


class _Done:
    error = None
    skipped = False

    def __str__(self) -> str:
        return "done"


def test_a_role_for_one_target_shows_only_that_target(outsider):
    prod, dev = make_target("prod-eu"), make_target("dev-eu")
    make_framework(prod, "prod_only")
    make_framework(dev, "dev_only")
    TargetRole.objects.create(user=outsider, group=Group.objects.get(name="auditor"), target=prod)
    client = client_for(outsider)
    response = client.get(reverse("frameworks:list"))
    assert b"prod_only" in response.content
    assert b"dev_only" not in response.content
    assert client.get(reverse("frameworks:detail", args=["dev-eu", "dev_only"])).status_code == 404
    assert (
        client.get(reverse("frameworks:detail", args=["prod-eu", "prod_only"])).status_code == 200
    )


def test_gone_frameworks_stay_listed_as_gone(auditor):
    make_framework(make_target(), "old_one", present=False)
    response = client_for(auditor).get(reverse("frameworks:list"))
    assert b"gone from AWS" in response.content


@pytest.mark.parametrize("size", [2, 20])
def test_the_list_takes_the_same_queries_at_any_size(auditor, django_assert_num_queries, size):
    for t in range(2):
        target = make_target(f"t-{t}")
        for i in range(size):
            make_framework(target, f"f_{i}", controls=3)
    client = client_for(auditor)
    # session, user, groups, target roles, targets, frameworks
    with django_assert_num_queries(6):
        response = client.get(reverse("frameworks:list"))
    assert response.status_code == 200


@pytest.mark.parametrize("controls", [2, 40])
def test_the_framework_page_takes_the_same_queries_at_any_size(
    auditor, django_assert_num_queries, controls
):
    framework = make_framework(make_target(), "big", controls=controls)
    client = client_for(auditor)
    # session, user, target, groups, target roles, framework, open changes, its admins
    with django_assert_num_queries(8):
        response = client.get(framework.get_absolute_url())
    assert response.content.count(b'class="card control"') == controls


def test_pages_send_a_strict_content_security_policy(auditor):
    response = client_for(auditor).get(reverse("frameworks:list"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
