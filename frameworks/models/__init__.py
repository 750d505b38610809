"""The domain's data: targets and their mirror (``targets``), change requests and document
versions (``changes``), the append-only history (``history``) and the write-once base
(``immutable``).

This face is for callers above the models (services, views, forms, tests); the modules below
import each other directly.
"""

from __future__ import annotations

from frameworks.models.access import (
    SETS_UP,
    AccessChange,
    AccessKind,
    AccessState,
    PasswordSeal,
)
from frameworks.models.changes import (
    FINAL_STATES,
    IN_FLIGHT_STATES,
    OPEN_STATES,
    STATE_RULES,
    Approval,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    Comment,
    Decision,
    DocumentVersion,
    TamperedVersion,
)
from frameworks.models.history import (
    EVENT_GROUPS,
    LIVE_EVENTS,
    ActorKind,
    Event,
    EventGroup,
    HistoryCheckpoint,
    HistoryEvent,
    HistoryHead,
    Outcome,
    events_of,
)
from frameworks.models.immutable import ImmutableModel, ImmutableQuerySet, ImmutableRowError
from frameworks.models.signin import SignInFailures
from frameworks.models.targets import Framework, FrameworkQuerySet, Role, Target, TargetRole

__all__ = [
    "EVENT_GROUPS",
    "FINAL_STATES",
    "IN_FLIGHT_STATES",
    "LIVE_EVENTS",
    "OPEN_STATES",
    "SETS_UP",
    "STATE_RULES",
    "AccessChange",
    "AccessKind",
    "AccessState",
    "ActorKind",
    "Approval",
    "ChangeKind",
    "ChangeRequest",
    "ChangeState",
    "Comment",
    "Decision",
    "DocumentVersion",
    "Event",
    "EventGroup",
    "Framework",
    "FrameworkQuerySet",
    "HistoryCheckpoint",
    "HistoryEvent",
    "HistoryHead",
    "ImmutableModel",
    "ImmutableQuerySet",
    "ImmutableRowError",
    "Outcome",
    "PasswordSeal",
    "Role",
    "SignInFailures",
    "TamperedVersion",
    "Target",
    "TargetRole",
    "events_of",
]
