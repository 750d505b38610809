"""Validation of a framework document as written (account checks: ``document_account``).

Import from ``frameworks.document``. Errors block; warnings inform. Every finding has a path
into the document, a stable code and a sentence a compliance person understands that names the
limit. Limits the service model states come from ``document_limits``; the catalogue's rules
from ``catalog``.

Decisions where AWS documents nothing (made so the product is safe either way):

- An unknown control name or parameter name is an **error**: whether AWS rejects it at once or
  only as a FAILED deployment is unknown, and either way the framework does not do what it says.
- Spaces around a list item, a resource id or a resource type are an **error**: AWS compares
  these strings literally, so " eu-west-1" silently matches nothing.
- Resource ids together with a tag are a **warning**, like types with a tag (undocumented).
- Unit-dependent ranges use AWS's default unit when the unit is left out; with an invalid unit
  only the unit is reported. The air-gapped vault control documents no default unit, so
  without one its value is held to the union of both ranges (1-2184).
- Descriptions are matched with line breaks allowed (DOTALL); lengths are counted in UTF-16
  code units, as AWS counts them, so an emoji counts twice.
- ``""`` as a description is "no description" (AWS's own DescribeFramework answers hold it);
  a blank one that is not empty ("  ") is refused, as the model's pattern says.
- A suggestion ("did you mean S3?") ignores case, as people type it.
- A parameter AWS fills in by default is a warning that says what AWS will use, so a
  compliance reader sees the value in force without anyone having to write it.
"""

from __future__ import annotations

import re
from typing import Any

from frameworks.document.catalog import CONTROLS, ControlSpec, ParameterSpec
from frameworks.document.checks import Checks, suggest
from frameworks.document.limits import ModelLimits, default_limits
from frameworks.document.model import (
    WARNING,
    Control,
    Document,
    DocumentError,
    Finding,
    Parameter,
    parse,
    scope_key,
)
from frameworks.document.words import describe_absent

_INT = re.compile(r"[0-9]+")
_ITEM_PATTERNS = {
    # IAM principals: roles (what AWS's guide names), users and the account root.
    "arn_list": (
        re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:(?:(?:role|user)/[\w+=,.@/-]+|root)"),
        "parameter.bad_arn",
        "an IAM role ARN such as arn:aws:iam::111122223333:role/BackupAdmin",
    ),
    "region_list": (
        re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}"),
        "parameter.bad_region",
        "a Region code such as eu-west-2",
    ),
    "account_list": (
        re.compile(r"[0-9]{12}"),
        "parameter.bad_account",
        "a 12-digit account ID such as 111122223333",
    ),
}


class _Validator(Checks):
    """The framework, control and parameter rules."""

    def document(self, doc: Document, require_name: bool) -> None:
        self.findings.extend(doc.parse_findings)
        if doc.name is None:
            if require_name:
                self.add("name", "name.required", "a name is needed to create a framework")
        else:
            self.text("name", "name", doc.name, self.limits.name)
        # AWS answers "" for a framework without a description: "" means "no description"
        # here too (normalise and the hash agree); the worker never sends it.
        if doc.description:
            self.text("description", "description", doc.description, self.limits.description)
        if doc.tags is not None:
            self.tags("tags", "tags", doc.tags, framework=True)
        if self.limits.controls.min is not None and len(doc.controls) < self.limits.controls.min:
            self.add("controls", "controls.empty", "a framework needs at least one control")
        elif self.limits.controls.max is not None:
            self.count("controls", "controls", len(doc.controls), self.limits.controls, "control")
        for index, control in enumerate(doc.controls):
            self.control(f"controls[{index}]", control)
        self.repeated_controls(doc.controls)

    def control(self, path: str, control: Control) -> None:
        spec = None
        if self.text(f"{path}.name", "control.name", control.name, self.limits.control_name):
            spec = CONTROLS.get(control.name)
            if spec is None:
                message = f"{control.name!r} is not one of the 11 AWS Backup controls"
                close = suggest(control.name, CONTROLS)
                if close:
                    message += f"; did you mean {close}?"
                self.add(f"{path}.name", "control.unknown", message)
        self.parameters(path, control, spec)
        if control.scope is not None:
            self.scope(f"{path}.scope", control.scope, spec)

    def parameters(self, path: str, control: Control, spec: ControlSpec | None) -> None:
        limits = self.limits
        # The model bounds none of these today; an unbounded limit is not asked (the same
        # answer, without building the path and the call for every parameter).
        if not limits.parameters.unbounded:
            self.count(
                f"{path}.parameters",
                "parameters",
                len(control.parameters),
                limits.parameters,
                "parameter",
            )
        name_limit, value_limit = limits.parameter_name, limits.parameter_value
        seen: set[str] = set()
        given: dict[str, str] = {}
        for index, parameter in enumerate(control.parameters):
            name = parameter.name
            where = f"{path}.parameters.{name}" if name else f"{path}.parameters[{index}]"
            if not name:
                self.add(where, "parameter.name_missing", "has no ParameterName")
                continue
            if name in seen:
                self.add(where, "parameter.duplicate", f"{name} is given more than once")
                continue
            seen.add(name)
            if not name_limit.unbounded:
                self.text(where, "parameter.name", name, name_limit)
            if not value_limit.unbounded and not self.text(
                where, "parameter.value", parameter.value, value_limit
            ):
                continue
            parameter_spec = spec.parameters.get(name) if spec else None
            if spec is not None and parameter_spec is None:
                self.unknown_parameter(where, name, spec)
            elif spec is not None and parameter_spec is not None:
                given[name] = parameter.value
                self.value(where, parameter, parameter_spec, spec, control.parameters)
        if spec is None:
            return
        self.between(path, given)
        for name in spec.parameters:
            if name not in seen:
                absent = describe_absent(spec.name, name, siblings=control.parameters)
                self.add(
                    f"{path}.parameters.{name}", "parameter.default", f"not set: {absent}", WARNING
                )

    def unknown_parameter(self, where: str, name: str, spec: ControlSpec) -> None:
        if not spec.parameters:
            message = f"{name} is not a parameter of {spec.name}, which takes none"
        else:
            message = (
                f"{name} is not a parameter of {spec.name}; it takes {', '.join(spec.parameters)}"
            )
            close = suggest(name, spec.parameters)
            if close:
                message += f" (did you mean {close}?)"
        self.add(where, "parameter.unknown", message)

    def value(
        self,
        where: str,
        parameter: Parameter,
        spec: ParameterSpec,
        control_spec: ControlSpec,
        siblings: list[Parameter],
    ) -> None:
        value = parameter.value
        if value == "":
            self.add(
                where,
                "parameter.empty",
                "has an empty value, which AWS refuses; leave the parameter out instead "
                f"({describe_absent(control_spec.name, spec.name, siblings=siblings)})",
            )
            return
        if spec.kind in _ITEM_PATTERNS:
            self.items(where, value, spec)
            return
        if value != value.strip():
            self.add(where, "parameter.whitespace", f"{value!r} has spaces around it")
            return
        if spec.kind == "choice":
            if value not in spec.choices:
                self.add(
                    where,
                    "parameter.not_a_choice",
                    f"must be {' or '.join(spec.choices)}, not {value!r}",
                )
            return
        if not _INT.fullmatch(value):
            self.add(where, "parameter.not_integer", f"must be a whole number, not {value!r}")
            return
        unit = None
        if spec.unit_parameter:
            unit = next((p.value for p in siblings if p.name == spec.unit_parameter), None)
            if unit is None:
                unit = control_spec.parameters[spec.unit_parameter].default
        low, high = spec.bounds(unit)
        number = int(value)
        if low is not None and number < low:
            when = self.when(spec, unit)
            self.add(
                where, "parameter.out_of_range", f"must be at least {low}{when}; it is {number}"
            )
        elif high is not None and number > high:
            when = self.when(spec, unit)
            self.add(
                where, "parameter.out_of_range", f"must be at most {high}{when}; it is {number}"
            )

    @staticmethod
    def when(spec: ParameterSpec, unit: str | None) -> str:
        """The unit a range depends on, in words (made only for a value out of range)."""
        return (
            f" when the unit is {unit}" if spec.unit_parameter and unit in spec.unit_ranges else ""
        )

    def items(self, where: str, value: str, spec: ParameterSpec) -> None:
        pattern, code, example = _ITEM_PATTERNS[spec.kind]
        items = value.split(",")
        if spec.max_items is not None and len(items) > spec.max_items:
            self.add(
                where,
                "parameter.too_many_items",
                f"takes at most {spec.max_items} items; it has {len(items)}",
            )
        seen: set[str] = set()
        for number, item in enumerate(items, start=1):
            stripped = item.strip()
            if not stripped:
                self.add(
                    where, "parameter.list_item_empty", f"item {number} is empty (a stray comma?)"
                )
                continue
            if item != stripped:
                self.add(
                    where,
                    "parameter.whitespace",
                    f"item {number} {item!r} has spaces around it; AWS would compare "
                    "them too, so write the items separated by commas only",
                )
            if not pattern.fullmatch(stripped):
                self.add(where, code, f"item {number} {stripped!r} is not {example}")
            elif stripped in seen:
                self.add(
                    where,
                    "parameter.list_duplicate",
                    f"item {number} {stripped!r} is listed twice",
                    WARNING,
                )
            seen.add(stripped)

    def between(self, path: str, given: dict[str, str]) -> None:
        """Rules between two parameters of one control."""
        low, high = given.get("minRetentionDays"), given.get("maxRetentionDays")
        if low and high and _INT.fullmatch(low) and _INT.fullmatch(high) and int(high) < int(low):
            self.add(
                f"{path}.parameters.maxRetentionDays",
                "parameter.below_minimum",
                f"must be at least minRetentionDays ({int(low)}); it is {int(high)}",
            )

    # --- across controls --------------------------------------------------------------------

    def repeated_controls(self, controls: list[Control]) -> None:
        """The same control twice: an error with the same scope, a warning otherwise."""
        first_by_scope: dict[tuple[str, Any], int] = {}
        first_by_name: dict[str, int] = {}
        for index, control in enumerate(controls):
            if not control.name:
                continue
            # One lookup of the key (hashing 100 resource IDs is not free).
            first = first_by_scope.setdefault((control.name, scope_key(control.scope)), index)
            if first != index:
                self.add(
                    f"controls[{index}]",
                    "control.duplicate",
                    f"{control.name} is already in controls[{first}] with the "
                    "same scope; merge them or give each a different scope",
                )
            elif control.name in first_by_name:
                self.add(
                    f"controls[{index}]",
                    "control.repeated",
                    f"{control.name} also appears in controls[{first_by_name[control.name]}]"
                    " with another scope",
                    WARNING,
                )
            first_by_name.setdefault(control.name, index)


def validate(
    doc: Document, *, require_name: bool = False, limits: ModelLimits | None = None
) -> list[Finding]:
    """Every problem with the document as written. ``require_name`` for creating a framework
    (an import into an existing framework needs none). ``limits`` defaults to the installed
    botocore's model."""
    validator = _Validator(limits or default_limits())
    validator.document(doc, require_name)
    return validator.findings


def validate_data(
    data: Any, *, require_name: bool = False, limits: ModelLimits | None = None
) -> list[Finding]:
    """Parse and validate any JSON value; never raises. What forms, import and the CLI call."""
    try:
        doc = parse(data)
    except DocumentError as error:
        return list(error.findings)
    return validate(doc, require_name=require_name, limits=limits)
