from __future__ import annotations

from django import template

from frameworks import document

register = template.Library()


@register.inclusion_tag("frameworks/_status.html")
def status_badge(status: str) -> dict[str, str]:
    known = document.badge(status)
    words, tone = (known.badge, known.tone) if known else (status, "neutral")
    return {"status": status, "words": words, "tone": tone}


@register.simple_tag
def text_limit(kind: str) -> int:
    """A free-text input's ``maxlength``: the number the server checks (``TEXT_LIMITS``)."""
    return document.text_limit(kind)
