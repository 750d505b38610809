"""The approver's journey: approve a change in the browser, then watch it being applied by a
real worker, attempt by attempt, until it says applied, without reloading the page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from frameworks import services
from tests.applying import controls, create_in_aws
from tests.e2e.conftest import log_in
from tests.worker import celery_worker, routed_to

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_an_approver_approves_and_watches_the_change_become_applied(
    page, target, editor, approver, emulator, aws_files, tmp_path
):
    create_in_aws(target, "daily", 7)
    services.target_sync(target_id=target.pk)
    change = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="update",
        framework_name="daily",
        document={
            "FrameworkName": "daily",
            "FrameworkDescription": "Recovery points kept five weeks",
            "FrameworkControls": controls(35),
        },
    )
    services.change_request_submit(user=editor, change_id=change.pk, reason="Keep five weeks")
    # AWS throttles the first try: the page shows that attempt, then the one that works.
    emulator.control.fail_next("ThrottlingException", operation="UpdateFramework")

    with celery_worker(tmp_path, aws_files=aws_files) as worker, routed_to(worker.queue):
        log_in(page, approver.username)
        page.goto(reverse("frameworks:change-detail", args=[change.pk]))
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("status")).to_contain_text("Approved")
        page.evaluate("window.stillTheSamePage = true")

        section = page.get_by_role("region", name="Applying to AWS")
        expect(section).to_contain_text("Applied: AWS holds the approved document.", timeout=30_000)
        expect(section).to_contain_text("AWS asked us to slow down")
        expect(section).to_contain_text("ThrottlingException")
        expect(section).to_contain_text("Attempt 2 started by a worker (a retry).")
        expect(section).to_contain_text("AWS finished deploying.")
        expect(section.locator(".badge")).to_have_text("Applied")
        assert page.evaluate("window.stillTheSamePage") is True  # no reload happened
        # Final: the section no longer asks for itself.
        expect(page.locator("#apply-status")).not_to_have_attribute("hx-trigger", "every 2s")
