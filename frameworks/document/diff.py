"""A semantic diff of two framework documents, for the review and audit pages.

Import from ``frameworks.document``. Controls are matched by name, then (for a control that
appears more than once) by identical content, then by scope, then in canonical order, so a
reordered document shows no change. Values are compared as ``normalise`` compares them:
``""``/``[]``/``{}``/absent are the same. FrameworkTags are compared when the proposed
document carries them (``None`` = the change leaves them alone); they come last.

Each ``Change`` carries plain strings only (old and new values in words where useful), so an
HTML page, a text e-mail and an audit row can all store and render it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from frameworks.document.catalog import CONTROLS
from frameworks.document.model import Control, ControlKey, Document, Parameter, control_key
from frameworks.document.words import (
    describe_absent,
    describe_control,
    describe_parameter,
    describe_scope,
)

FRAMEWORK_CREATED = "framework_created"
FRAMEWORK_DELETED = "framework_deleted"
DESCRIPTION_CHANGED = "description_changed"
CONTROL_ADDED = "control_added"
CONTROL_REMOVED = "control_removed"
PARAMETER_ADDED = "parameter_added"
PARAMETER_REMOVED = "parameter_removed"
PARAMETER_CHANGED = "parameter_changed"
SCOPE_CHANGED = "scope_changed"
TAG_ADDED = "tag_added"
TAG_REMOVED = "tag_removed"
TAG_CHANGED = "tag_changed"


@dataclass(frozen=True)
class Change:
    """One difference. ``path`` points into the proposed document (into the base one for a
    removal); ``control`` is the ControlName, ``parameter`` the ParameterName; ``old``/``new``
    are raw values for descriptions and parameters, sentences for scopes and whole controls;
    ``label`` is how the control is named to people; ``detail`` what a value means."""

    kind: str
    path: str
    control: str | None = None
    parameter: str | None = None
    old: str | None = None
    new: str | None = None
    label: str | None = None
    detail: str | None = None

    @property
    def text(self) -> str:
        """One readable sentence."""
        label = self.label or self.control or ""
        if self.kind == FRAMEWORK_CREATED:
            return f"Create the framework {self.new}." if self.new else "Create the framework."
        if self.kind == FRAMEWORK_DELETED:
            return f"Delete the framework {self.old}." if self.old else "Delete the framework."
        if self.kind == DESCRIPTION_CHANGED:
            if self.old is None:
                return f"Set the description to “{self.new}”."
            if self.new is None:
                return f"Remove the description (was “{self.old}”)."
            return f"Change the description from “{self.old}” to “{self.new}”."
        if self.kind == CONTROL_ADDED:
            return f"Add the control “{label}”: {self.new}."
        if self.kind == CONTROL_REMOVED:
            return f"Remove the control “{label}” (was: {self.old})."
        if self.kind == SCOPE_CHANGED:
            return f"“{label}”: change the scope from “{self.old}” to “{self.new}”."
        if self.kind == TAG_ADDED:
            return f"Add the framework tag {self.parameter} = “{self.new}”."
        if self.kind == TAG_REMOVED:
            return f"Remove the framework tag {self.parameter} (was “{self.old}”)."
        if self.kind == TAG_CHANGED:
            return f"Change the framework tag {self.parameter} from “{self.old}” to “{self.new}”."
        meaning = f" ({self.detail})" if self.detail else ""
        if self.kind == PARAMETER_ADDED:
            return f"“{label}”: set {self.parameter} to {self.new}{meaning}."
        if self.kind == PARAMETER_REMOVED:
            return f"“{label}”: remove {self.parameter} (was {self.old}){meaning}."
        return f"“{label}”: change {self.parameter} from {self.old} to {self.new}{meaning}."


def diff_text(changes: Iterable[Change]) -> str:
    """The changes as plain text, one per line."""
    lines = [f"- {change.text}" for change in changes]
    return "\n".join(lines) if lines else "No changes."


_NAME = attrgetter("name")


def _title(name: str) -> str:
    spec = CONTROLS.get(name)
    return spec.title if spec else name


def _summary(control: Control) -> str:
    return "; ".join(describe_control(control))


def _pair(
    base: list[ControlKey], proposed: list[ControlKey]
) -> tuple[dict[int, int], list[int], list[int]]:
    """Match controls given their keys: ({proposed index: base index}, added proposed
    indexes, removed base indexes)."""
    base_by_name: dict[str, list[int]] = defaultdict(list)
    proposed_by_name: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(base):
        base_by_name[key[0]].append(index)
    for index, key in enumerate(proposed):
        proposed_by_name[key[0]].append(index)
    pairs: dict[int, int] = {}
    added: list[int] = []
    removed: list[int] = []
    # Most specific first: identical controls, then the same scope, then whatever is left,
    # each in canonical order so that the pairing does not depend on the order written.
    matchers: tuple[Callable[[ControlKey], object], ...] = (
        lambda key: key,
        lambda key: key[2],
        lambda key: None,
    )
    for name in dict.fromkeys([*proposed_by_name, *base_by_name]):
        left = sorted(base_by_name.get(name, []), key=base.__getitem__)
        right = sorted(proposed_by_name.get(name, []), key=proposed.__getitem__)
        for same in matchers:
            if not left or not right:
                break
            # What this matcher compares of each unmatched proposed control, in the order of
            # ``right``: ``index`` finds the first one that matches, as a scan of ``right`` would.
            values = [same(proposed[j]) for j in right]
            for i in list(left):
                wanted = same(base[i])
                if wanted not in values:
                    continue
                position = values.index(wanted)
                del values[position]
                pairs[right.pop(position)] = i
                left.remove(i)
        removed.extend(left)
        added.extend(right)
    return pairs, sorted(added), sorted(removed)


def _parameter_changes(path: str, label: str, base: Control, proposed: Control) -> list[Change]:
    def values(parameters: list[Parameter]) -> dict[str, str]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for parameter in parameters:
            grouped[parameter.name].append(parameter.value)
        return {name: ", ".join(sorted(found)) for name, found in grouped.items()}

    old, new = values(base.parameters), values(proposed.parameters)
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) == new.get(name):
            continue
        where = f"{path}.parameters.{name}"
        common = {"control": proposed.name, "parameter": name, "label": label}
        if name not in old:
            detail: str | None = describe_parameter(
                proposed.name, Parameter(name, new[name]), siblings=proposed.parameters
            )
            changes.append(Change(PARAMETER_ADDED, where, new=new[name], detail=detail, **common))
        elif name not in new:
            detail = describe_absent(proposed.name, name, siblings=proposed.parameters) or None
            changes.append(Change(PARAMETER_REMOVED, where, old=old[name], detail=detail, **common))
        else:
            detail = describe_parameter(
                proposed.name, Parameter(name, new[name]), siblings=proposed.parameters
            )
            changes.append(
                Change(
                    PARAMETER_CHANGED, where, old=old[name], new=new[name], detail=detail, **common
                )
            )
    return changes


def tag_diff(base: dict[str, str] | None, proposed: dict[str, str] | None) -> list[Change]:
    """The framework tag changes from ``base`` to ``proposed`` (``None`` proposed: none), by
    key; ``parameter`` holds the tag key."""
    if proposed is None:
        return []
    old = base or {}
    changes = []
    for key in sorted(old.keys() | proposed.keys()):
        where = f"tags.{key}"
        if key not in old:
            changes.append(Change(TAG_ADDED, where, parameter=key, new=proposed[key]))
        elif key not in proposed:
            changes.append(Change(TAG_REMOVED, where, parameter=key, old=old[key]))
        elif old[key] != proposed[key]:
            changes.append(
                Change(TAG_CHANGED, where, parameter=key, old=old[key], new=proposed[key])
            )
    return changes


def diff(base: Document | None, proposed: Document | None) -> list[Change]:
    """What changes from ``base`` to ``proposed``; ``None`` means no framework (created or
    deleted). Order: framework, description, then controls in the proposed document's order,
    then removed controls in the base document's order."""
    changes: list[Change] = []
    if base is None and proposed is None:
        return changes
    if base is None:
        changes.append(Change(FRAMEWORK_CREATED, "", new=proposed.name if proposed else None))
    if proposed is None:
        changes.append(Change(FRAMEWORK_DELETED, "", old=base.name if base else None))
    old_description = (base.description or None) if base else None
    new_description = (proposed.description or None) if proposed else None
    if old_description != new_description and proposed is not None:
        changes.append(
            Change(DESCRIPTION_CHANGED, "description", old=old_description, new=new_description)
        )
    base_controls = base.controls if base else []
    proposed_controls = proposed.controls if proposed else []
    counts = [Counter(map(_NAME, controls)) for controls in (base_controls, proposed_controls)]
    repeated = {name for count in counts for name, n in count.items() if n > 1}

    def label(control: Control) -> str:
        if control.name in repeated:
            scope = describe_scope(control.scope)
            return f"{_title(control.name)}, {scope[:1].lower()}{scope[1:]}"
        return _title(control.name)

    base_keys = [control_key(c) for c in base_controls]
    proposed_keys = [control_key(c) for c in proposed_controls]
    by_proposed, added_list, removed = _pair(base_keys, proposed_keys)
    added = set(added_list)
    for j, control in enumerate(proposed_controls):
        path = f"controls[{j}]"
        if j in added:
            changes.append(
                Change(
                    CONTROL_ADDED,
                    path,
                    control=control.name,
                    new=_summary(control),
                    label=label(control),
                )
            )
            continue
        old_control = base_controls[by_proposed[j]]
        old_key, new_key = base_keys[by_proposed[j]], proposed_keys[j]
        if old_key == new_key:
            continue
        if old_key[2] != new_key[2]:
            changes.append(
                Change(
                    SCOPE_CHANGED,
                    f"{path}.scope",
                    control=control.name,
                    old=describe_scope(old_control.scope),
                    new=describe_scope(control.scope),
                    label=label(control),
                )
            )
        changes.extend(_parameter_changes(path, label(control), old_control, control))
    for i in removed:
        control = base_controls[i]
        changes.append(
            Change(
                CONTROL_REMOVED,
                f"controls[{i}]",
                control=control.name,
                old=_summary(control),
                label=label(control),
            )
        )
    if proposed is not None:
        changes.extend(tag_diff(base.tags if base else None, proposed.tags))
    return changes
