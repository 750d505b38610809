"""Template tags of the framework editor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.safestring import SafeString

from frameworks import access
from frameworks.access import Action
from frameworks.forms import rows
from frameworks.forms.controls import ControlForm, RawParameterForm
from frameworks.models import Target

register = template.Library()


@register.simple_tag(takes_context=True)
def may_edit(context: dict[str, Any], target: Target) -> bool:
    """Whether the viewer may propose changes to ``target``: the links and buttons that open
    the editor show only then (the views and services check again). Roles are cached on the
    user, so a page asks the database nothing more however many targets it shows."""
    request = context.get("request")
    return request is not None and access.can(request.user, Action.EDIT, target)


@register.simple_tag
def control_row(form: ControlForm, urls: Mapping[str, str]) -> SafeString:
    """One control row of the editor (``forms.rows``)."""
    return rows.control_row(form, urls)


@register.simple_tag
def raw_row(row: RawParameterForm, urls: Mapping[str, str]) -> SafeString:
    """One parameter row given by name and value (``forms.rows``)."""
    return rows.raw_row(row, urls)
