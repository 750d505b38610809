"""The tests' builders: mirror rows (no AWS involved), and change requests in every state of
the review, built through the services."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from frameworks import services
from frameworks.forms.controls import (
    SCOPE_RESOURCE,
    SCOPE_TAG,
    SCOPE_TYPES,
    SCOPE_TYPES_TAG,
    ControlForm,
)
from frameworks.forms.draft import TAG_ROWS
from frameworks.forms.editor import FrameworkEditor
from frameworks.models import ChangeKind, ChangeRequest, Framework, Target, TargetRole


def history_appends(count: int = 1) -> int:
    """The queries `count` history appends take: the head locked, the rows inserted, the head
    moved; on PostgreSQL the insert moves the head in the same statement."""
    return count * (2 if connection.vendor == "postgresql" else 3)


def make_target(slug: str = "prod-eu", **fields: object) -> Target:
    defaults = {"display_name": slug.replace("-", " ").title(), "region": "eu-west-1"}
    defaults.update(fields)
    return Target.objects.create(slug=slug, **defaults)


def controls(days: int, **tags: str) -> list[dict[str, Any]]:
    """A control list of one retention control keeping recovery points `days` days, scoped to
    `tags` if any. AWS refuses two frameworks with the same controls in one account and Region:
    give each its own `days`."""
    retention: dict[str, Any] = {
        "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
        "ControlInputParameters": [
            {"ParameterName": "requiredRetentionDays", "ParameterValue": str(days)}
        ],
    }
    if tags:
        retention["ControlScope"] = {"Tags": tags}
    return [retention]


def control(i: int) -> dict:
    """The `i`-th control of a framework `make_framework` builds."""
    return controls(i + 1, team=f"t{i}")[0]


def make_framework(
    target: Target, name: str = "daily", controls: int = 2, **fields: object
) -> Framework:
    values = {
        "arn": f"arn:aws:backup:{target.region}:111111111111:framework:{name}-0000",
        "description": f"{name} framework",
        "controls": [control(i) for i in range(controls)],
        "deployment_status": "COMPLETED",
        "framework_status": "ACTIVE",
        "last_synced_at": timezone.now(),
    }
    values.update(fields)
    return Framework.objects.create(target=target, name=name, **values)


def with_hash(framework: Framework) -> Framework:
    """Give a mirror row the content hash sync would have computed for it."""
    from frameworks import document

    framework.content_hash = document.content_hash(document.parse(framework.api_document()))
    framework.save(update_fields=["content_hash"])
    return framework


def make_live_framework(target: Target, name: str = "daily", controls: int = 2, **fields: object):
    """A mirror row as sync leaves it, content hash included."""
    return with_hash(make_framework(target, name, controls, **fields))


# --- change requests, through the services ------------------------------------------------


def live_framework(target: Target | None = None, name: str = "daily", controls: int = 2):
    return make_live_framework(target or make_target(), name, controls)


def proposal(framework: Framework, *, new_controls: int = 1) -> dict:
    """The framework's document with controls added and a new description."""
    doc = framework.api_document()
    start = len(doc["FrameworkControls"])
    doc["FrameworkControls"] = doc["FrameworkControls"] + [
        control(start + i) for i in range(new_controls)
    ]
    doc["FrameworkDescription"] = "Keep recovery points longer"
    return doc


def draft(author: User, framework: Framework, **kwargs: object) -> ChangeRequest:
    return services.change_request_create_draft(
        user=author,
        target_id=framework.target_id,
        kind=ChangeKind.UPDATE,
        framework_name=framework.name,
        document=proposal(framework, **kwargs),
    )


def submitted(author: User, framework: Framework, **kwargs: object) -> ChangeRequest:
    change = draft(author, framework, **kwargs)
    return services.change_request_submit(
        user=author, change_id=change.pk, reason="Auditors want 35 days"
    )


def set_state(change: ChangeRequest, state: str) -> ChangeRequest:
    """Put a change in a state directly (tests only: for states other actors lead to)."""
    ChangeRequest.objects.filter(pk=change.pk).update(state=state)
    change.refresh_from_db()
    return change


def grant(user: User, role: str, target: Target) -> User:
    """Give `user` `role` on `target` only."""
    TargetRole.objects.create(
        user=user, group=Group.objects.get_or_create(name=role)[0], target=target
    )
    return user


def user(username: str, *roles: str, password: str | None = None) -> User:
    """A user holding `roles` on every target. Without a password (tests log in with
    force_login), since hashing one costs more than the rest of a view test."""
    person = User.objects.create_user(username, f"{username}@example.com", password)
    for role in roles:
        person.groups.add(Group.objects.get_or_create(name=role)[0])
    return person


def change_in(state: str, people: dict) -> ChangeRequest:
    """A change by people["author"] to a live framework of people["target"], in `state`."""
    framework = live_framework(people["target"])
    if state == "draft":
        return draft(people["author"], framework)
    change = submitted(people["author"], framework)
    return change if state == "submitted" else set_state(change, state)


# --- what the editor page posts, as a browser would -------------------------------------------


def browser_post(editor: FrameworkEditor, csrf: str = "") -> QueryDict:
    """The fields a browser submits for the page drawn from ``editor`` (unbound), with the
    browser's own habits: single-line inputs drop line breaks, textareas send CRLF.

    Used to check that the form shows a document exactly; the tests check it against the
    page itself.
    """
    data = QueryDict(mutable=True)
    main = editor.main
    data["version"] = str(main.initial["version"])
    data["description"] = _textarea(main["description"].value())
    data["reason"] = _textarea(main["reason"].value())
    total = editor.controls.total_form_count()
    data["controls-TOTAL_FORMS"] = str(total)
    data["controls-INITIAL_FORMS"] = "0"
    data["controls-MIN_NUM_FORMS"] = "0"
    data["controls-MAX_NUM_FORMS"] = str(editor.controls.max_num)
    for form in editor.controls.forms:
        _post_control(data, form)
    rows = editor.tag_rows()
    data["tags-TOTAL_FORMS"] = str(len(rows))
    data["tags-INITIAL_FORMS"] = "0"
    data["tags-MIN_NUM_FORMS"] = "0"
    data["tags-MAX_NUM_FORMS"] = str(TAG_ROWS)
    for row in rows:
        data[row.add_prefix("key")] = _line(row["key"].value())
        data[row.add_prefix("value")] = _line(row["value"].value())
    return data


def _line(value: Any) -> str:
    return str(value or "").replace("\r", "").replace("\n", "")


def _textarea(value: Any) -> str:
    return re.sub(r"\r\n?|\n", "\r\n", str(value or ""))


def _post_control(data: QueryDict, form: ControlForm) -> None:
    def put(field: str, value: Any) -> None:
        data[form.add_prefix(field)] = value

    put("name", form.control_name)
    kind = form.scope_kind_value()
    put("scope_kind", kind)
    # Only the chosen kind's fields are on the page.
    if kind in (SCOPE_TYPES, SCOPE_TYPES_TAG):
        types = form["resource_types"].value() or []
        data.setlist(form.add_prefix("resource_types"), list(dict.fromkeys(types)))
    if kind in (SCOPE_TAG, SCOPE_TYPES_TAG):
        put("tag_key", _line(form["tag_key"].value()))
        put("tag_value", _line(form["tag_value"].value()))
    elif kind == SCOPE_RESOURCE:
        put("resource_type", form["resource_type"].value() or "")
        put("resource_ids", _textarea(form["resource_ids"].value()))
    for typed in form.typed():
        value = _textarea(typed.value) if typed.kind == "list" else _line(typed.value)
        put(f"p_{typed.spec.name}", value)
    params = form.params
    put("params-TOTAL_FORMS", str(params.total_form_count()))
    put("params-INITIAL_FORMS", "0")
    for row in params.forms:
        data[row.add_prefix("name")] = _line(row["name"].value())
        data[row.add_prefix("value")] = _line(row["value"].value())
