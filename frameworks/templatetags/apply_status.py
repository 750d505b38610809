"""``{% apply_status change as status %}``: what the apply section of a change page shows, so
the section can be included by the change page and rendered alone by its htmx view alike."""

from __future__ import annotations

from django import template

from frameworks.models import ChangeRequest
from frameworks.queries import ApplyStatus
from frameworks.queries import apply_status as build

register = template.Library()


@register.simple_tag
def apply_status(change: ChangeRequest) -> ApplyStatus:
    return build(change)
