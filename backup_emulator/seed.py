"""``--seed demo``: realistic frameworks in two accounts, so a fresh demo has something to show.

The documents are a copy (``seed_demo.json``) of the ones ``public-framework-documents.json``
calls valid, kept inside the package because a user's checkout has no ``../shared``. They go
through the same checks as CreateFramework, so a seed that AWS would refuse fails loudly instead of
showing a framework AWS could never hold.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from .state import State

SEED_FILE = Path(__file__).with_name("seed_demo.json")
API_MEMBERS = ("FrameworkName", "FrameworkDescription", "FrameworkControls", "FrameworkTags")


def demo_documents() -> list[dict[str, Any]]:
    """The seed entries: account, region, created (ISO 8601) and the CreateFramework members."""
    return json.loads(SEED_FILE.read_text(encoding="utf-8"))["frameworks"]


def seed_demo(state: State) -> int:
    """Add the demo frameworks, all COMPLETED, unless the state already holds frameworks.

    Returns how many were added (0 when the state was not empty, e.g. loaded from ``--state``)."""
    if not state.is_empty():
        return 0
    documents = demo_documents()
    for document in documents:
        body = {key: document[key] for key in API_MEMBERS if key in document}
        body["IdempotencyToken"] = str(uuid.uuid4())
        created = datetime.fromisoformat(document["created"]).timestamp()
        state.add_completed(document["account"], document["region"], body, round(created, 3))
    return len(documents)
