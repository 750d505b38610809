"""Template tags of the framework editor."""

from __future__ import annotations

from typing import Any

from django import template

from frameworks import access
from frameworks.access import Action
from frameworks.models import Target

register = template.Library()


@register.simple_tag(takes_context=True)
def may_edit(context: dict[str, Any], target: Target) -> bool:
    """Whether the viewer may propose changes to ``target``: the links and buttons that open
    the editor show only then (the views and services check again). Roles are cached on the
    user, so a page asks the database nothing more however many targets it shows."""
    request = context.get("request")
    return request is not None and access.can(request.user, Action.EDIT, target)
