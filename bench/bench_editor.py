"""Benchmark: the framework editor against the read-only framework page, in one run.

Builds, in a throwaway SQLite database, a 50-control framework (the largest the default quotas
allow: every parameter set, 100 resource ids wherever a control can name resources) and a
5-control one, opens a draft of each through the services, then times with Django's test
client:

- the editor's GET for the 50-control draft against the read-only page of the same framework
  (at most 2x);
- adding one control row with htmx (the fragment) at 5 and at 50 controls (ratio at most 1.2);
- the number of queries of the editor's GET, its save (POST) and the add-row fragment at 5 and
  at 50 controls (must be equal).

Prints every figure and exits 1 if a limit is exceeded. Run with ``make bench`` or
``.venv/bin/python bench/bench_editor.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

os.environ.update(
    DATA_DIR=tempfile.mkdtemp(prefix="bench-editor-"),
    DJANGO_SETTINGS_MODULE="config.settings",
    SECRET_KEY="bench-only",  # noqa: S106 - a throwaway database
    DEBUG="1",
    ALLOWED_HOSTS="testserver",
    LOG_LEVEL="ERROR",
)
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from bench_document import build_document  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from frameworks import document, services  # noqa: E402
from frameworks.forms.editor import Editing, FrameworkEditor  # noqa: E402
from frameworks.models import ChangeKind, Framework, Target  # noqa: E402
from tests.factories import browser_post  # noqa: E402

MAX_PAGE_RATIO = 2.0
MAX_ROW_RATIO = 1.2
ROUNDS = 40
ROW_ROUNDS = 400
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "control-rows"}


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    assert response.status_code in (200, 302), response.status_code
    return elapsed


def queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def setup(controls: int, editor: User) -> tuple[Framework, int]:
    data = build_document()
    data["FrameworkControls"] = data["FrameworkControls"][:controls]
    target = Target.objects.create(
        slug=f"t{controls}", display_name=f"T{controls}", region="eu-west-1"
    )
    framework = Framework.objects.create(
        target=target,
        name=f"f{controls}",
        description="bench",
        controls=data["FrameworkControls"],
        content_hash=document.content_hash(
            document.parse(
                {"FrameworkControls": data["FrameworkControls"], "FrameworkDescription": "bench"}
            )
        ),
    )
    change = services.change_request_create_draft(
        user=editor, target_id=target.pk, kind=ChangeKind.UPDATE, framework_name=framework.name
    )
    return framework, change.pk


def save_data(change_id: int) -> dict[str, Any]:
    from frameworks.models import ChangeRequest

    change = ChangeRequest.objects.get(pk=change_id)
    editor = FrameworkEditor.from_document(
        document.parse(change.working_document),
        editing=Editing.of(change.framework_name, change.working_document),
        version=change.version,
    )
    post = browser_post(editor)
    return {key: post.getlist(key) for key in post}


def htmx_check(client: Client, framework: Framework, change_id: int) -> tuple[int, int]:
    """Queries and document parses of one htmx field check of the 50-control draft, with four
    other frameworks on its target (after one check: what each keystroke check costs)."""
    for i in range(4):
        Framework.objects.create(
            target=framework.target,
            name=f"other{i}",
            controls=framework.controls[:2],
            content_hash=document.content_hash(
                document.parse({"FrameworkControls": framework.controls[:2]})
            ),
        )
    url = reverse("frameworks:change-check", args=[change_id])
    data = save_data(change_id)

    def check() -> Any:
        return client.post(url, data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="row-controls-1")

    check()
    parses = 0
    real_parse = document.parse

    def counting(data: Any) -> document.Document:
        nonlocal parses
        parses += 1
        return real_parse(data)

    document.parse = counting
    try:
        return queries(check), parses
    finally:
        document.parse = real_parse


def main() -> int:
    call_command("migrate", verbosity=0)
    editor = User.objects.create_user("bench", password="bench")  # noqa: S106
    editor.groups.add(Group.objects.get_or_create(name="editor")[0])
    client = Client()
    client.force_login(editor)
    _, small_id = setup(5, editor)
    large, large_id = setup(50, editor)

    page = large.get_absolute_url()
    edit = reverse("frameworks:change-edit", args=[large_id])
    add = {
        n: reverse("frameworks:change-add-control", args=[i])
        for n, i in ((5, small_id), (50, large_id))
    }
    for _ in range(5):  # warm caches: templates, catalogue, botocore's model
        client.get(page), client.get(edit)
        for n, url in add.items():
            client.post(url, {"controls-TOTAL_FORMS": str(n)}, **HTMX)

    page_times, edit_times = [], []
    for _ in range(ROUNDS):
        page_times.append(timed(lambda: client.get(page)))
        edit_times.append(timed(lambda: client.get(edit)))
    page_ms, edit_ms = median_ms(page_times), median_ms(edit_times)
    page_ratio = edit_ms / page_ms

    row_times: dict[int, list[float]] = {5: [], 50: []}
    for _ in range(ROW_ROUNDS):
        for n, url in add.items():
            row_times[n].append(
                timed(
                    lambda url=url, n=n: client.post(url, {"controls-TOTAL_FORMS": str(n)}, **HTMX)
                )
            )
    row5, row50 = median_ms(row_times[5]), median_ms(row_times[50])
    row_ratio = row50 / row5

    counts: dict[str, dict[int, int]] = {
        "editor GET": {},
        "editor POST (save)": {},
        "add a row": {},
    }
    for n, change_id in ((5, small_id), (50, large_id)):
        url = reverse("frameworks:change-edit", args=[change_id])
        counts["editor GET"][n] = queries(lambda url=url: client.get(url))
        data = save_data(change_id)
        data["description"] = [f"saved at {n}"]
        counts["editor POST (save)"][n] = queries(lambda url=url, data=data: client.post(url, data))
        counts["add a row"][n] = queries(
            lambda n=n: client.post(add[n], {"controls-TOTAL_FORMS": str(n)}, **HTMX)
        )

    check_queries, check_parses = htmx_check(client, large, large_id)
    size = len(client.get(edit).content)
    print(f"framework: {len(large.controls)} controls, editor page {size // 1024} KiB")
    print(f"read-only page GET            {page_ms:8.2f} ms (median of {ROUNDS})")
    print(f"editor GET                    {edit_ms:8.2f} ms")
    print(f"  ratio editor / read-only    {page_ratio:8.3f}  (bound {MAX_PAGE_RATIO:.3f})")
    print(f"add a control row, 5 controls {row5:8.3f} ms (median of {ROW_ROUNDS})")
    print(f"add a control row, 50         {row50:8.3f} ms")
    print(f"  ratio 50 / 5                {row_ratio:8.3f}  (bound {MAX_ROW_RATIO:.3f})")
    failures = [
        name
        for name, ratio, bound in (
            ("editor GET / read-only page", page_ratio, MAX_PAGE_RATIO),
            ("add a row at 50 / at 5", row_ratio, MAX_ROW_RATIO),
        )
        if ratio > bound
    ]
    for what, by_size in counts.items():
        same = by_size[5] == by_size[50]
        if not same:
            failures.append(f"queries of {what} grow")
        grows = "" if same else "  GROWS"
        print(f"queries, {what:22s} {by_size[5]:3d} at 5, {by_size[50]:3d} at 50{grows}")
    print(f"htmx check, 4 other frameworks: {check_queries} queries, {check_parses} parses")
    print("FAILED: " + "; ".join(failures) if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
