"""Reading the history leaves a trace: an export or an evidence pack is itself an event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from frameworks import access, history
from frameworks.access import Action
from frameworks.history import Actor
from frameworks.models import Event, HistoryEvent
from frameworks.services.base import Call, service

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@service
def history_record_export(
    *, user: User | None, what: str, filters: dict[str, Any], actor: Actor | None = None
) -> HistoryEvent:
    """Anyone who may view a target may export what they see of its history; the export is
    recorded first (who, what format, which filter), and covers the rows before that record.
    `user` None: the command line (actor given), which reads everything."""
    if actor is None:
        assert user is not None, "a person, or the command line's actor"
        actor = Actor.for_user(user)
    call = Call("export", actor, user=user)
    if user is not None and not access.can_anywhere(user, Action.VIEW):
        raise call.refuse("You have no role on any AWS account.", "no_role", permission=True)
    event = Event.EVIDENCE_PACK if what == "evidence-pack" else Event.EXPORTED
    return history.append(event, call.actor, details={"format": what, "filters": filters})
