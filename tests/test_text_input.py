"""Free text as the database can keep it, and requests that are not UTF-8: the pieces the URL
walk (``test_bad_input``) relies on, each tried on its own."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from frameworks import document, services
from frameworks.forms import CommentForm, DeletionForm, RejectForm
from frameworks.forms.audit import AuditFilterForm
from frameworks.models import ChangeRequest, Comment, Event, HistoryEvent, Outcome
from tests.conftest import client_for
from tests.factories import draft, live_framework, make_target, submitted, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(db: None) -> dict:
    target = make_target("prod-eu")
    author = user("erin", "editor")
    approver = user("alice", "approver")
    change = submitted(author, live_framework(target, "daily"))
    return {"author": author, "approver": approver, "change": change}


# --- the forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("a\x00b", "This text holds a NUL character (\\0), which cannot be stored."),
        ("a\ud800b", "This text holds an unpaired surrogate (such as \\ud800), which is not text."),
        ("x" * 10_001, "This text is 10,001 characters long; at most 10,000 are kept."),
    ],
)
def test_a_form_refuses_text_the_database_cannot_keep_in_words(value, words):
    form = CommentForm({"body": value})
    assert not form.is_valid()
    assert form.errors["body"] == [words]  # in place of Django's "Null characters are not ..."


def test_the_limit_is_the_fields_own_or_its_kinds():
    assert CommentForm({"body": "x" * 10_000}).is_valid()
    assert not RejectForm({"reason": "x" * 4_001}).is_valid()
    assert not DeletionForm({"reason": "x" * 4_001}).is_valid()
    # A GET form (the audit filter) names the field and keeps the rest of the view.
    form = AuditFilterForm({"actor": "a\x00", "q": "fine"}, targets=[])
    assert not form.is_valid()
    assert "NUL" in form.errors["actor"][0]
    assert form.filters().q == "fine"


def test_the_pages_maxlength_is_the_number_the_server_checks(review):
    page = client_for(review["approver"]).get(
        reverse("frameworks:change-detail", args=[review["change"].pk])
    )
    html = page.content.decode()
    limits = dict(re.findall(r'name="(\w+)"[^>]*maxlength="(\d+)"', html))
    assert limits["note"] == str(document.text_limit("note"))
    assert limits["reason"] == str(document.text_limit("reason"))
    assert limits["body"] == str(document.text_limit("comment"))
    author_page = client_for(review["author"]).get(
        reverse("frameworks:change-detail", args=[review["change"].pk])
    )
    assert f'maxlength="{document.text_limit("note")}"' in author_page.content.decode()


def test_a_refused_comment_is_said_on_the_change_page_and_nothing_is_kept(review):
    client = client_for(review["approver"])
    url = reverse("frameworks:change-comment", args=[review["change"].pk])
    response = client.post(url, {"body": "x" * 2_400_000}, follow=True)
    assert "Comment: This text is 2,400,000 characters long" in response.content.decode()
    response = client.post(url, {"body": "a\x00b"}, headers={"hx-request": "true"})
    assert response.status_code == 400
    assert "Comment: This text holds a NUL character" in response.content.decode()
    assert Comment.objects.count() == 0


# --- the services, for callers other than the forms -------------------------------------------


@pytest.mark.parametrize("text", ["a\x00b", "x" * 10_001])
def test_the_services_refuse_it_too_and_record_the_refusal(review, text):
    change = review["change"]
    with pytest.raises(services.TransitionRefused) as refused:
        services.change_request_comment(user=review["approver"], change_id=change.pk, body=text)
    assert refused.value.code in ("unstorable", "too_long")
    assert refused.value.message.startswith("The comment ")
    with pytest.raises(services.TransitionRefused):
        services.change_request_reject(
            user=review["approver"],
            change_id=change.pk,
            content_hash=change.review_hash,
            reason=text[:5000],
        )
    row = HistoryEvent.objects.order_by("-id").first()
    assert (row.event, row.outcome) == (Event.REFUSED, Outcome.REFUSED)
    assert "\x00" not in str(row.details)
    assert ChangeRequest.objects.get(pk=change.pk).state == change.state
    assert Comment.objects.count() == 0


# --- bytes that are not UTF-8 ------------------------------------------------------------------


def test_a_form_body_that_is_not_utf8_is_a_400_with_a_plain_page(review):
    client = client_for(review["approver"])
    url = reverse("frameworks:change-comment", args=[review["change"].pk])
    for body, content_type in [
        (b"body=caf%E9", "application/x-www-form-urlencoded"),
        (b"body=caf\xe9", "application/x-www-form-urlencoded"),
        (b"body=cafe", "application/x-www-form-urlencoded; charset=latin-1"),
    ]:
        response = client.post(url, body, content_type=content_type)
        assert response.status_code == 400
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert "not UTF-8" in response.content.decode()
    assert Comment.objects.count() == 0
    ok = client.post(url, "body=caf%C3%A9", content_type="application/x-www-form-urlencoded")
    assert ok.status_code == 302
    assert Comment.objects.get().body == "café"


def test_a_query_string_or_address_that_is_not_utf8_or_holds_a_nul_is_refused(review):
    client = client_for(review["approver"])
    assert client.get("/audit/?q=caf%E9").status_code == 400
    nul = client.get("/audit/?q=a%00b")
    assert nul.status_code == 400 and "'q' holds a NUL character" in nul.content.decode()
    assert client.get("/frameworks/prod-eu/da%00ily/").status_code == 404
    assert client.get("/audit/?q=caf%C3%A9").status_code == 200


def test_a_multipart_field_that_arrived_mangled_is_refused(review):
    client = Client()
    client.force_login(review["approver"])
    url = reverse("frameworks:change-comment", args=[review["change"].pk])
    # A multipart body's text is decoded by Django with replacement; the sign left is U+FFFD.
    response = client.post(url, {"body": "caf\ufffd", "file": SimpleUploadedFile("a", b"\xff")})
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_the_editor_pages_say_the_same_lengths(review):
    change = draft(review["author"], live_framework(review["change"].target, "weekly"))
    client = client_for(review["author"])
    page = client.get(reverse("frameworks:change-edit", args=[change.pk])).content.decode()
    assert f'maxlength="{document.text_limit("reason")}" aria-describedby="fb-draft-reason"' in page
    assert (
        f'maxlength="{document.text_limit("text")}" aria-describedby="fb-draft-description"' in page
    )
    json_page = client.get(reverse("frameworks:change-json", args=[change.pk])).content.decode()
    assert f'maxlength="{document.text_limit("reason")}"' in json_page
