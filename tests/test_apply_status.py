"""The live apply section of a change page (views/review.py, _apply_status.html)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from frameworks import apply
from tests.applying import approved_update
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.APPLY_POLL_INTERVAL_SECONDS = 0.01
    settings.APPLY_RETRY_BASE_SECONDS = 0.01
    settings.APPLY_STAGE_HOOK_DIR = ""


@pytest.fixture
def change(target, editor, approver, emulator):
    return approved_update(target, editor, approver, "daily", 7)


def url(change) -> str:
    return reverse("frameworks:change-apply-status", args=[change.pk])


def test_every_role_that_may_view_the_target_sees_it_and_others_get_404(change, role_client):
    role, client = role_client
    response = client.get(url(change), **HTMX)
    # To someone with no role, the change does not exist.
    assert response.status_code == (404 if role == "outsider" else 200)


def test_it_answers_404_405_and_sends_browsers_without_htmx_to_the_page(change, auditor):
    client = client_for(auditor)
    assert (
        client.get(reverse("frameworks:change-apply-status", args=[99999]), **HTMX).status_code
        == 404
    )
    assert client.post(url(change), **HTMX).status_code == 405
    response = client.get(url(change))
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("frameworks:change-detail", args=[change.pk]) + "#apply-status"
    )


def test_a_waiting_change_polls_every_two_seconds(change, auditor):
    response = client_for(auditor).get(url(change), **HTMX)
    body = response.content.decode()
    assert 'hx-trigger="every 2s"' in body
    assert f'hx-get="{url(change)}?drawn=approved"' in body
    # The page header's state badge is swapped with the section, so the two never disagree.
    assert '<span id="change-state" class="badge state-approved" hx-swap-oob="true">' in body
    assert "waiting for a worker" in body
    assert "<html" not in body  # the fragment only
    assert response["Cache-Control"].startswith("max-age=0")


def test_each_attempt_and_the_deployment_status_are_shown_and_polling_stops_when_applied(
    change, auditor, emulator
):
    emulator.control.fail_next("ServiceUnavailableException", operation="UpdateFramework")
    first = apply.change_request_apply(change_id=change.pk, task_id="t")
    client = client_for(auditor)
    during = client.get(url(change), **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in during
    assert "attempt 1 of at most" in during
    assert "AWS Backup was briefly unavailable" in during
    assert "ServiceUnavailableException" in during
    assert first.outcome == "retry"
    apply.change_request_apply(change_id=change.pk, task_id="t", retries=1)
    after = client.get(url(change), **HTMX).content.decode()
    assert "hx-trigger" not in after  # final: the section stops asking for itself
    assert "Applied: AWS holds the approved document." in after
    assert after.count("Sent UpdateFramework to AWS.") == 2
    assert "AWS accepted UpdateFramework" in after
    assert "AWS finished deploying." in after
    assert "after 2 attempts" in after


def test_once_the_change_ends_the_rest_of_the_page_is_swapped_in_with_the_section(
    change, auditor, editor, emulator
):
    apply.change_request_apply(change_id=change.pk, task_id="t")
    # Drawn while approved, now applied: the buttons, decisions and timeline come along.
    body = client_for(editor).get(url(change) + "?drawn=approved", **HTMX).content.decode()
    assert 'id="change-state" class="badge state-applied" hx-swap-oob="true"' in body
    assert '<div id="review-actions" hx-swap-oob="true">' in body
    assert "Start a new change from this one" in body  # what an editor may do now
    assert "Withdraw" not in body
    assert 'id="timeline" aria-labelledby="timeline-head" hx-swap-oob="true"' in body
    assert "Apply attempt 1 by the" in body
    assert '<div id="decisions" hx-swap-oob="true">' in body
    # Drawn as it is now: just the section and the header's badge.
    body = client_for(auditor).get(url(change) + "?drawn=applied", **HTMX).content.decode()
    assert 'id="change-state" class="badge state-applied" hx-swap-oob="true"' in body
    assert "review-actions" not in body


def test_a_failed_change_says_why_in_plain_words_with_the_raw_code(change, auditor, emulator):
    emulator.control.fail_next("InvalidParameterValueException", operation="UpdateFramework")
    apply.change_request_apply(change_id=change.pk, task_id="t")
    body = client_for(auditor).get(url(change), **HTMX).content.decode()
    assert "AWS refused a value in the framework as invalid." in body
    assert "<code>InvalidParameterValueException</code>" in body
    assert "hx-trigger" not in body


def test_the_section_costs_the_same_queries_however_many_attempts(
    change, auditor, emulator, django_assert_max_num_queries
):
    client = client_for(auditor)
    client.get(url(change), **HTMX)  # session and roles warm
    emulator.control.fail_next("ThrottlingException", count=2, operation="UpdateFramework")
    result = apply.change_request_apply(change_id=change.pk, task_id="t")
    with django_assert_max_num_queries(8) as few:
        client.get(url(change), **HTMX)
    for n in (1, 2):
        result = apply.change_request_apply(change_id=change.pk, task_id="t", retries=n)
    assert result.outcome == "applied"
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url(change), **HTMX)


def test_the_change_page_includes_the_section(change, auditor):
    body = client_for(auditor).get(reverse("frameworks:change-detail", args=[change.pk]))
    assert body.status_code == 200
    assert 'id="apply-status"' in body.content.decode()


def test_an_unconfirmed_change_says_so_and_keeps_polling_until_it_is_settled(
    change, auditor, emulator, settings
):
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 0
    emulator.control.configure(deploy_seconds=30)
    assert apply.change_request_apply(change_id=change.pk, task_id="t").outcome == "unconfirmed"
    client = client_for(auditor)
    body = client.get(url(change), **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in body
    assert "AWS accepted the change; its deployment could not be confirmed." in body
    assert 'data-state="unconfirmed"' in body
    emulator.control.finish_deployments()
    assert apply.changes_settle_unconfirmed() == [change.pk]
    body = client.get(url(change), **HTMX).content.decode()
    assert 'data-state="applied"' in body and "every 2s" not in body
    assert "found by reconciler" in body
