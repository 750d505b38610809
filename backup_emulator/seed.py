"""``--seed demo`` (or ``--seed FILE``): realistic frameworks in two accounts, the IAM roles a
console assumes there, and one account and Region where AWS Config records less than everything.

The demo seed (``seed_demo.json``):

* **frameworks**: a copy of the documents ``public-framework-documents.json`` calls valid, kept
  inside the package because a user's checkout has no ``../shared``. They go through the same
  checks as CreateFramework, so a seed that AWS would refuse fails loudly instead of showing a
  framework AWS could never hold. Added only when the state holds no frameworks (e.g. not when
  ``--state`` loaded some).
* **roles**: ``BackupFrameworksConsole`` in 111111111111 and in 222222222222, each requiring the
  ExternalId ``backup-frameworks-demo`` (any account may assume them; sessions up to 3600 s).
* **recording**: AWS Config in 222222222222 / eu-west-1 records everything except
  ``AWS::EC2::Volume`` and ``AWS::RDS::DBInstance`` (no EBS, no RDS); everywhere else it records
  all resource types.

Roles and recording are applied on every start (they are configuration, not saved state) and
become the start values ``reset()`` returns to.

A seed file of one's own has the same shape: ``{"roles": [...], "recording": [...],
"frameworks": [...]}``, every key optional; a role is ``{"account", "name", "external_id",
"max_session_duration", "trusted_accounts"}``, a recording ``{"account", "region", "mode",
"resource_types", "recording", "unavailable"}`` (see ``recording.py``), a framework
``{"account", "region", "created"}`` plus CreateFramework's members.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from .identity import make_role
from .recording import make_recording
from .state import State

SEED_FILE = Path(__file__).with_name("seed_demo.json")
API_MEMBERS = ("FrameworkName", "FrameworkDescription", "FrameworkControls", "FrameworkTags")


def seed_path(seed: str) -> Path:
    """``demo`` is the packaged seed; anything else is a path."""
    return SEED_FILE if seed == "demo" else Path(seed)


def load_seed(seed: str = "demo") -> dict[str, Any]:
    return json.loads(seed_path(seed).read_text(encoding="utf-8"))


def demo_documents() -> list[dict[str, Any]]:
    """The seed entries: account, region, created (ISO 8601) and the CreateFramework members."""
    return load_seed()["frameworks"]


def seed_demo(state: State, seed: str = "demo") -> int:
    """Apply a seed: its roles and recording always, its frameworks (all COMPLETED) only when the
    state holds none. Returns how many frameworks were added."""
    data = load_seed(seed)
    roles = [make_role(**spec) for spec in data.get("roles", [])]
    recordings = {}
    for spec in data.get("recording", []):
        spec = dict(spec)
        key = (spec.pop("account"), spec.pop("region"))
        recordings[key] = make_recording(**spec, started=state.now())
    state.set_defaults(roles=roles, recordings=recordings)
    if not state.is_empty():
        return 0
    documents = data.get("frameworks", [])
    for document in documents:
        body = {key: document[key] for key in API_MEMBERS if key in document}
        body["IdempotencyToken"] = str(uuid.uuid4())
        created = datetime.fromisoformat(document["created"]).timestamp()
        state.add_completed(document["account"], document["region"], body, round(created, 3))
    return len(documents)
