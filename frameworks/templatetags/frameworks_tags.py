from __future__ import annotations

from django import template

register = template.Library()

# AWS's own samples print "Active" where the API says COMPLETED: match loosely, show the raw
# string when it is unknown.
_STATUS_WORDS = {
    "COMPLETED": ("Deployed", "ok"),
    "CREATE_IN_PROGRESS": ("Being created", "busy"),
    "UPDATE_IN_PROGRESS": ("Being updated", "busy"),
    "DELETE_IN_PROGRESS": ("Being deleted", "busy"),
    "FAILED": ("Deployment failed", "bad"),
    "ACTIVE": ("Recording on", "ok"),
    "PARTIALLY_ACTIVE": ("Recording partly on", "warn"),
    "INACTIVE": ("Recording off", "bad"),
    "UNAVAILABLE": ("Unavailable", "bad"),
}


@register.inclusion_tag("frameworks/_status.html")
def status_badge(status: str) -> dict[str, str]:
    key = (status or "").strip().upper().replace(" ", "_")
    words, tone = _STATUS_WORDS.get(key, (status, "neutral"))
    return {"status": status, "words": words, "tone": tone}
