"""Sign-in through the identity provider (OpenID Connect), against a local provider started by
the test: the whole authorization code flow over HTTP, roles mapped from the provider's groups,
local passwords optional."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.test import Client

from frameworks.models import Event, HistoryEvent
from tests.oidc_provider import CLIENT_ID, Provider, running_provider

pytestmark = pytest.mark.django_db

BACKEND = "frameworks.oidc.RoleMappingBackend"


@pytest.fixture(scope="module")
def provider_server() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def provider(provider_server: Provider, settings: Any) -> Provider:
    for name, value in provider_server.settings().items():
        setattr(settings, name, value)
    # As config/settings.py orders them: django-axes' lockout check first.
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        BACKEND,
        "django.contrib.auth.backends.ModelBackend",
    ]
    settings.OIDC_ROLE_GROUPS = {}
    settings.OIDC_PROVIDER_NAME = "Acme SSO"
    return provider_server


def sign_in(client: Client) -> Any:
    """The browser's part: start at the console, be sent to the provider, come back."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302
    authorize = urlparse(start["Location"])
    query = parse_qs(authorize.query)
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert "nonce" in query and "state" in query
    back = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    callback = urlparse(back.headers["Location"])
    assert callback.path == "/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_a_person_signs_in_through_the_provider_and_gets_roles_from_groups(
    provider: Provider, settings: Any
) -> None:
    settings.OIDC_ROLE_GROUPS = {"editor": "backup-editors", "approver": "backup-approvers"}
    provider.sign_in_as(
        preferred_username="pat", email="pat@example.com", groups=["backup-editors", "staff"]
    )
    client = Client()
    done = sign_in(client)
    assert done.status_code == 302
    assert done["Location"] == "/frameworks/"
    pat = User.objects.get(username="pat")
    assert pat.email == "pat@example.com"
    assert not pat.has_usable_password()
    assert sorted(pat.groups.values_list("name", flat=True)) == ["editor"]
    assert client.get("/frameworks/").wsgi_request.user == pat

    # At the next sign-in the provider says approver, no longer editor: the roles follow.
    provider.sign_in_as(
        preferred_username="pat", email="pat@example.com", groups=["backup-approvers"]
    )
    sign_in(Client())
    assert sorted(pat.groups.values_list("name", flat=True)) == ["approver"]
    # Each role change is an access change and a history row by the identity provider.
    granted = HistoryEvent.objects.filter(event=Event.ROLE_GRANTED).order_by("id")
    assert [(r.actor_name, r.details["role"]) for r in granted] == [
        ("identity provider", "editor"),
        ("identity provider", "approver"),
    ]
    [removed] = HistoryEvent.objects.filter(event=Event.ROLE_REMOVED)
    assert (removed.actor_name, removed.details["subject"]) == ("identity provider", "user pat")
    # Each sign-in is in the history.
    signed_in = HistoryEvent.objects.filter(event=Event.SIGNED_IN).order_by("id")
    assert [(r.actor_name, r.details["method"]) for r in signed_in] == [
        ("pat", "identity provider"),
        ("pat", "identity provider"),
    ]


def test_without_a_mapping_roles_stay_as_administrators_set_them(provider: Provider) -> None:
    existing = User.objects.create_user("sam", "sam@example.com")
    existing.groups.add(Group.objects.get_or_create(name="auditor")[0])
    provider.sign_in_as(preferred_username="sam", email="sam@example.com", groups=["admins"])
    assert sign_in(Client()).status_code == 302
    assert list(existing.groups.values_list("name", flat=True)) == ["auditor"]
    assert User.objects.filter(username="sam").count() == 1


def test_a_provider_answer_without_a_username_is_refused(provider: Provider) -> None:
    provider.sign_in_as(sub="x")
    provider.claims.pop("preferred_username", None)
    done = sign_in(Client())
    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/?sso=failed"
    page = Client().get(done["Location"]).content.decode()
    assert "Signing in through Acme SSO did not succeed" in page


def test_the_login_page_offers_the_provider_and_passwords(provider: Provider) -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert 'href="/oidc/authenticate/">Sign in with Acme SSO</a>' in page
    assert 'name="password"' in page


def test_local_passwords_can_be_turned_off(provider: Provider, settings: Any) -> None:
    settings.LOCAL_PASSWORDS = False
    settings.AUTHENTICATION_BACKENDS = [BACKEND]
    User.objects.create_user("lee", password="password")
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    refused = client.post("/accounts/login/", {"username": "lee", "password": "password"})
    assert refused.status_code == 403
    assert not client.session.get("_auth_user_id")


def test_without_a_provider_the_oidc_addresses_are_404(settings: Any) -> None:
    settings.OIDC_ENABLED = False
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert Client().get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in Client().get("/accounts/login/").content.decode()
