"""Plain words for a compliance person: what a scope selects, what a parameter demands.

The framework page, the diff and the review page all describe controls the same way, so the
sentences are built here, from the catalogue's phrases, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from frameworks.document.catalog import BACKUP_VAULT_TYPE, CONTROLS, VALUE_UNITS
from frameworks.document.model import Control, Parameter, Scope

#: How many ids a description lists before it says "and N more".
_SHOWN_IDS = 3


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _tag_words(tags: dict[str, str]) -> str:
    pairs = []
    for key, value in tags.items():
        pairs.append(f"{key} = {value}" if value else f"{key} (with an empty value)")
    return " and ".join(pairs)


def _ids_words(ids: Sequence[str], types: Sequence[str]) -> str:
    if types == [BACKUP_VAULT_TYPE]:
        noun, plural = "backup vault", "backup vaults"
    elif len(types) == 1:
        noun, plural = f"{types[0]} resource", f"{types[0]} resources"
    else:
        noun, plural = "resource", "resources"
    if len(ids) == 1:
        return f"the {noun} {ids[0]}"
    shown = list(ids[:_SHOWN_IDS])
    if len(ids) > _SHOWN_IDS:
        shown.append(f"{len(ids) - _SHOWN_IDS} more")
    return f"these {len(ids)} {plural}: {_and(shown)}"


def describe_scope(scope: Scope | None) -> str:
    """One sentence saying which resources a control evaluates, e.g.
    "Only resources tagged Environment = prod"."""
    if scope is None or scope.is_empty():
        return "All resources the control applies to"
    ids = scope.resource_ids or []
    types = scope.resource_types or []
    tags = scope.tags or {}
    if ids:
        text = f"Only {_ids_words(ids, types)}"
        if tags:
            text += f", if tagged {_tag_words(tags)}"
        return text
    if types:
        text = f"Only {_and(types)} resources"
        if tags:
            text += f" tagged {_tag_words(tags)}"
        return text
    return f"Only resources tagged {_tag_words(tags)}"


def _unit_words(unit: str, value: str) -> str:
    """ "1 day" / "12 hours": the unit's plural is the catalogue's unit name."""
    if value == "1" and unit.endswith("s"):
        return unit[:-1]
    return unit


def _unit_in_force(control_name: str, unit_parameter: str, siblings: Iterable[Parameter]) -> str:
    for sibling in siblings:
        if sibling.name == unit_parameter:
            return sibling.value
    spec = CONTROLS.get(control_name)
    unit_spec = spec.parameters.get(unit_parameter) if spec else None
    return (unit_spec.default if unit_spec else None) or "(unit not set)"


def describe_parameter(
    control_name: str, parameter: Parameter, *, siblings: Iterable[Parameter] = ()
) -> str:
    """One sentence for one parameter value, e.g. "Backups at least every 12 hours".

    A value whose meaning depends on a unit parameter (``requiredFrequencyValue``) reads the
    unit from ``siblings`` (the control's other parameters); without them, AWS's default unit
    is assumed, so callers that have the whole control should pass its parameters.
    """
    spec = CONTROLS.get(control_name)
    parameter_spec = spec.parameters.get(parameter.name) if spec else None
    if parameter_spec is None:
        return f"{parameter.name} = {parameter.value}"
    value = parameter.value
    if parameter_spec.kind in ("arn_list", "region_list", "account_list"):
        value = ", ".join(item.strip() for item in value.split(","))
    if parameter_spec.unit_parameter:
        unit = _unit_in_force(control_name, parameter_spec.unit_parameter, siblings)
    else:
        unit = VALUE_UNITS.get(parameter.name, "")
    return parameter_spec.phrase.format(value=value, unit=_unit_words(unit, value)).strip()


def describe_absent(
    control_name: str, parameter_name: str, *, siblings: Iterable[Parameter] = ()
) -> str:
    """What leaving a catalogue parameter out means, e.g. "AWS uses 35 days"."""
    spec = CONTROLS.get(control_name)
    parameter_spec = spec.parameters.get(parameter_name) if spec else None
    if parameter_spec is None:
        return ""
    unit_one = "day"
    if parameter_spec.unit_parameter:
        unit = _unit_in_force(control_name, parameter_spec.unit_parameter, siblings)
        unit_one = _unit_words(unit, "1")
    return parameter_spec.absent.format(unit_one=unit_one)


def describe_control(control: Control) -> list[str]:
    """The control's scope and parameters as sentences, for a framework page or a diff."""
    lines = [describe_scope(control.scope)]
    lines.extend(
        describe_parameter(control.name, parameter, siblings=control.parameters)
        for parameter in control.parameters
    )
    return lines
