"""Plain words for a compliance person: what a scope selects, what a parameter demands.

The framework page, the diff and the review page all describe controls the same way, so the
sentences are built here, from the catalogue's phrases, and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from frameworks.document.catalog import BACKUP_VAULT_TYPE, CONTROLS, VALUE_UNITS
from frameworks.document.model import Control, Finding, Parameter, Scope

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


# --- findings as sentences --------------------------------------------------------------------

_CONTROL_REF = re.compile(r"controls\[(\d+)\]")
_FINDING_PATH = re.compile(r"controls\[(\d+)\](?:\.(.*))?")
_RAW_PARAMETER = re.compile(r"parameters\[(\d+)\]")
_TOP_FIELDS = {
    "": "",
    "name": "Name",
    "description": "Description",
    "tags": "Framework tags",
    "controls": "Controls",
}


def _numbered(message: str) -> str:
    """``controls[2]`` inside a core message reads "control 3", as every page counts."""
    return _CONTROL_REF.sub(lambda m: f"control {int(m[1]) + 1}", message)


def field_label(control_name: str | None, rest: str, code: str) -> str:
    """The label a person sees for the field a finding's path names inside one control
    (``rest``: the path after ``controls[i].``), or "" for the control as a whole."""
    spec = CONTROLS.get(control_name or "")
    if rest == "":
        return ""
    if rest == "name":
        return "Control"
    if rest == "parameters":
        return "Parameters"
    raw = _RAW_PARAMETER.match(rest)
    if raw:
        return f"Parameter {int(raw[1]) + 1}"
    if rest.startswith("parameters."):
        name = rest.removeprefix("parameters.")
        parameter = spec.parameters.get(name) if spec else None
        return parameter.label if parameter else f"Parameter {name}"
    if rest == "scope":
        return "Applies to"
    if rest.startswith("scope.resource_ids"):
        return f"{(spec.resource_id_label if spec else 'resource ID').capitalize()}s"
    if rest.startswith("scope.resource_types"):
        return "Resource types"
    if rest.startswith("scope.tags"):
        about_value = code.startswith("scope.tags.value") or code == "scope.tag_value_empty"
        return "Tag value" if about_value else "Tag key"
    return ""


def _sentence(label: str, message: str) -> str:
    """``label: message.``, leaving the label out when the message already names it."""
    text = _numbered(message).strip().rstrip(".")
    if label and label.lower() not in text.lower():
        return f"{label}: {text}."
    return f"{text[:1].upper()}{text[1:]}."


def finding_field_words(finding: Finding, controls: Sequence[Control] = ()) -> str:
    """A finding next to its field: the field's label and the message, as a sentence
    ("Tag key: the tag key must not be empty.")."""
    match = _FINDING_PATH.fullmatch(finding.path)
    if match is None:
        return _sentence(_TOP_FIELDS.get(finding.path, ""), finding.message)
    index = int(match[1])
    name = controls[index].name if index < len(controls) else None
    return _sentence(field_label(name, match[2] or "", finding.code), finding.message)


def finding_words(finding: Finding, controls: Sequence[Control] = ()) -> str:
    """A finding anywhere else, as a sentence naming the control by its number (from 1) and
    title and the field by its label: "Control 2, Last recovery point was created, Tag key:
    the tag key must not be empty." The path and the code stay in the finding (the JSON view
    and the exports show them), not in the sentence."""
    match = _FINDING_PATH.fullmatch(finding.path)
    if match is None:
        label = _TOP_FIELDS.get(finding.path, "")
        return _sentence(label, finding.message)
    index = int(match[1])
    control = controls[index] if index < len(controls) else None
    where = f"Control {index + 1}"
    if control is not None and control.name:
        spec = CONTROLS.get(control.name)
        where += f", {spec.title if spec else control.name}"
    label = field_label(control.name if control else None, match[2] or "", finding.code)
    text = _numbered(finding.message).strip().rstrip(".")
    if label and label.lower() not in text.lower():
        return f"{where}, {label}: {text}."
    return f"{where}: {text}."
