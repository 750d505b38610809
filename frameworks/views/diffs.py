"""The side-by-side view of two framework documents, each control marked as the semantic diff
says: what the change page and a framework's versions page show. Routes nothing."""

from __future__ import annotations

from typing import Any

from frameworks import document, queries
from frameworks.document.catalog import CONTROLS
from frameworks.document.diff import CONTROL_ADDED, CONTROL_REMOVED, DESCRIPTION_CHANGED


def _side(doc: document.Document | None, marks: dict[int, str], params: dict[int, set]) -> list:
    """One column of the side-by-side view: each control in words, with its diff mark."""
    if doc is None:
        return []
    return [
        {
            "control": control,
            "title": CONTROLS[control.name].title if control.name in CONTROLS else control.name,
            "mark": marks.get(index, ""),
            "scope_words": document.describe_scope(control.scope),
            "defaults": queries.defaults_of(control),
            "parameters": [
                {
                    "parameter": p,
                    "changed": p.name in params.get(index, ()),
                    "words": document.describe_parameter(
                        control.name, p, siblings=control.parameters
                    ),
                }
                for p in control.parameters
            ],
        }
        for index, control in enumerate(doc.controls)
    ]


def control_index(path: str) -> int | None:
    if not path.startswith("controls["):
        return None
    return int(path[len("controls[") : path.index("]")])


def side_by_side(
    base: document.Document | None,
    proposed: document.Document | None,
    changes: list[document.Change],
) -> dict[str, Any]:
    """Both documents, each control marked added, removed or changed as the diff says."""
    proposed_marks: dict[int, str] = {}
    base_marks: dict[int, str] = {}
    changed_params: dict[int, set[str]] = {}
    for change in changes:
        index = control_index(change.path)
        if index is None:
            continue
        if change.kind == CONTROL_REMOVED:
            base_marks[index] = "removed"
        elif change.kind == CONTROL_ADDED:
            proposed_marks[index] = "added"
        else:
            proposed_marks.setdefault(index, "changed")
            if change.parameter:
                changed_params.setdefault(index, set()).add(change.parameter)
    # A base control neither removed nor kept as it was is the other half of a changed pair.
    kept = {document.control_key(c) for c in proposed.controls} if proposed else set()
    for index, control in enumerate(base.controls if base else []):
        if index not in base_marks and document.control_key(control) not in kept:
            base_marks[index] = "changed"
    return {
        "base": _side(base, base_marks, {}),
        "proposed": _side(proposed, proposed_marks, changed_params),
        "description_changed": any(c.kind == DESCRIPTION_CHANGED for c in changes),
    }


def document_side(doc: document.Document | None) -> list:
    """One document's controls in words, unmarked: a framework as it was."""
    return _side(doc, {}, {})
