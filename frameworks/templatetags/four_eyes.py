"""The notice on a target's pages where four eyes cannot be guaranteed (fewer than two
administrators: nobody can confirm an access change there; see frameworks.segregation)."""

from __future__ import annotations

from django import template

from frameworks import segregation
from frameworks.models import Target

register = template.Library()


@register.inclusion_tag("frameworks/_four_eyes.html")
def four_eyes_notice(target: Target) -> dict[str, object]:
    """One COUNT query."""
    return {"target": target, "unguarded": not segregation.four_eyes_guaranteed(target)}
