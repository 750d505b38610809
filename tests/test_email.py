"""Every message the console sends, rendered: absolute links to SITE_URL, the product's name."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from frameworks import notifications
from tests.factories import live_framework, make_target, submitted

pytestmark = pytest.mark.django_db

SITE = "https://backup.example.com/console"


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.SITE_URL = SITE
    settings.SITE_NAME = "Acme backup controls"


def links(text: str) -> list[str]:
    return re.findall(r"(?:https?://|/)\S*changes/\d+/", text)


def test_the_review_request_links_to_the_change_absolutely(
    editor: User, approver: User, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    target = make_target("prod-eu", notify_emails=["team@example.com"])
    with django_capture_on_commit_callbacks(execute=True):
        change = submitted(editor, live_framework(target))
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert message.subject.startswith(f"[Acme backup controls] Change #{change.pk}")
        assert links(message.body) == [f"{SITE}/frameworks/changes/{change.pk}/"]


@pytest.mark.parametrize("event", sorted(notifications.AUTHOR_NEWS))
def test_each_message_to_the_author_links_to_the_change_absolutely(
    event: str,
    editor: User,
    approver: User,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    change = submitted(editor, live_framework(make_target("prod-eu")))
    with django_capture_on_commit_callbacks(execute=True):
        notifications.author_news(change, event, by=approver, note="A note.")
    [message] = mailoutbox
    assert message.to == [editor.email]
    subject, first_line = notifications.AUTHOR_NEWS[event]
    assert message.subject.endswith(subject)
    assert message.body.startswith(first_line)
    assert links(message.body) == [f"{SITE}/frameworks/changes/{change.pk}/"]


def test_the_login_page_shows_the_products_name(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert "<title>Log in · Acme backup controls</title>" in page
    assert ">Acme backup controls</a>" in page
    assert "testserver" not in page
