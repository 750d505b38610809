"""The framework document: typed form, parsing, serialising, normalising and the content hash.

Import the public names from ``frameworks.document``; this module is split out only to keep
files short. No Django and no boto3 here: the same code serves forms, JSON import, the command
line, sync and the worker.

The parsed ``Document`` keeps what was *written*: ``None`` (member absent or ``null``), ``[]``
and ``{}`` stay distinct, so validation can flag an empty ``ComplianceResourceIds`` list.
``normalise`` folds those differences away for comparison and hashing.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: where (``controls[2].parameters.requiredFrequencyValue``), a stable code
    for programs, a severity (errors block, warnings do not) and a sentence for people."""

    path: str
    code: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.severity}: {self.message} [{self.code}]"


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether any finding blocks (warnings never do)."""
    return any(finding.severity == ERROR for finding in findings)


class DocumentError(ValueError):
    """The input cannot be read as a framework at all (not an object, wrong types)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("; ".join(str(finding) for finding in findings))


@dataclass
class Parameter:
    name: str
    value: str


@dataclass
class Scope:
    """A control scope as written: ``None`` = member absent, ``[]``/``{}`` = written empty."""

    resource_ids: list[str] | None = None
    resource_types: list[str] | None = None
    tags: dict[str, str] | None = None

    def is_empty(self) -> bool:
        """True when the scope means "all resources" (nothing, or only empty members)."""
        return not self.resource_ids and not self.resource_types and not self.tags


@dataclass
class Control:
    name: str
    parameters: list[Parameter] = field(default_factory=list)
    scope: Scope | None = None


@dataclass
class Document:
    """A framework document. ``name`` may be ``None`` (CloudFormation generates names).

    ``parse_findings`` holds what parsing noticed without failing (unknown members, a tag key
    written twice); ``validate`` reports them. They are not part of equality.
    """

    name: str | None = None
    description: str | None = None
    controls: list[Control] = field(default_factory=list)
    tags: dict[str, str] | None = None
    parse_findings: list[Finding] = field(default_factory=list, compare=False, repr=False)


# --- parsing --------------------------------------------------------------------------------

CFN_TYPE = "AWS::Backup::Framework"
_TOP_MEMBERS = ("FrameworkName", "FrameworkDescription", "FrameworkControls", "FrameworkTags")
#: Members of DescribeFramework / ListFrameworks answers and of --cli-input-json that say
#: nothing about the framework's content: read past them silently.
_IGNORED_MEMBERS = frozenset(
    {
        "FrameworkArn",
        "CreationTime",
        "DeploymentStatus",
        "FrameworkStatus",
        "IdempotencyToken",
        "NumberOfControls",
        "ResponseMetadata",
    }
)
_CONTROL_MEMBERS = ("ControlName", "ControlInputParameters", "ControlScope")
_PARAMETER_MEMBERS = ("ParameterName", "ParameterValue")
_SCOPE_MEMBERS = ("ComplianceResourceIds", "ComplianceResourceTypes", "Tags")


class _Parser:
    """Reads one document, collecting every type problem before giving up, so a user sees
    all of them at once rather than one per attempt."""

    def __init__(self) -> None:
        self.fatal: list[Finding] = []
        self.notes: list[Finding] = []

    def wrong(self, path: str, expected: str, value: Any) -> None:
        got = "null" if value is None else type(value).__name__
        got = {"str": "text", "dict": "an object", "list": "a list", "bool": "true/false"}.get(
            got, got
        )
        self.fatal.append(Finding(path, "document.type", ERROR, f"must be {expected}, not {got}"))

    def unknown(self, path: str, key: Any, known: Iterable[str]) -> None:
        message = f"{key!r} is not a member AWS knows here"
        close = difflib.get_close_matches(str(key), list(known), n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        self.notes.append(Finding(_join(path, str(key)), "document.unknown_member", ERROR, message))

    def check_members(self, path: str, data: Mapping[Any, Any], known: tuple[str, ...]) -> None:
        for key in data:
            if key not in known:
                self.unknown(path, key, known)

    def string(self, path: str, value: Any, *, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, str):
            return value
        self.wrong(path, "text", value)
        return None

    def string_list(self, path: str, value: Any) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            self.wrong(path, "a list of text", value)
            return None
        if set(map(type, value)) <= {str}:  # the common case, without a Python loop
            return list(value)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.wrong(f"{path}[{index}]", "text", item)
        return [item for item in value if isinstance(item, str)]

    def tags(self, path: str, value: Any) -> dict[str, str] | None:
        """API form ``{"k": "v"}`` or CloudFormation form ``[{"Key": "k", "Value": "v"}]``."""
        if value is None:
            return None
        tags: dict[str, str] = {}
        if isinstance(value, Mapping):
            for key, tag_value in value.items():
                if not isinstance(key, str):
                    self.wrong(path, "an object with text keys", key)
                elif isinstance(tag_value, str):
                    tags[key] = tag_value
                else:
                    self.wrong(_join(path, key), "text", tag_value)
            return tags
        if not isinstance(value, list):
            self.wrong(path, "an object or a list of {Key, Value}", value)
            return None
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if not isinstance(item, Mapping):
                self.wrong(item_path, "an object with Key and Value", item)
                continue
            self.check_members(item_path, item, ("Key", "Value"))
            key = self.string(f"{item_path}.Key", item.get("Key"), optional=False)
            # The tag value is optional in AWS's own words; a missing one reads as "".
            tag_value = self.string(f"{item_path}.Value", item.get("Value"))
            if key is None:
                continue
            if key in tags:
                self.notes.append(
                    Finding(
                        item_path,
                        "tags.duplicate_key",
                        ERROR,
                        f"the tag key {key!r} is written twice",
                    )
                )
            tags[key] = tag_value or ""
        return tags

    def scope(self, path: str, value: Any) -> Scope | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.wrong(path, "an object", value)
            return None
        self.check_members(path, value, _SCOPE_MEMBERS)
        return Scope(
            resource_ids=self.string_list(
                f"{path}.resource_ids", value.get("ComplianceResourceIds")
            ),
            resource_types=self.string_list(
                f"{path}.resource_types", value.get("ComplianceResourceTypes")
            ),
            tags=self.tags(f"{path}.tags", value.get("Tags")),
        )

    def parameter(self, path: str, value: Any) -> Parameter | None:
        if not isinstance(value, Mapping):
            self.wrong(path, "an object with ParameterName and ParameterValue", value)
            return None
        self.check_members(path, value, _PARAMETER_MEMBERS)
        # A missing name or value reads as "": validation then names it as missing, together
        # with every other problem, instead of parsing stopping here.
        name = self.string(f"{path}.name", value.get("ParameterName"))
        parameter_value = self.string(f"{path}.value", value.get("ParameterValue"))
        return Parameter(name or "", parameter_value or "")

    def control(self, path: str, value: Any) -> Control | None:
        if not isinstance(value, Mapping):
            self.wrong(path, "an object with a ControlName", value)
            return None
        self.check_members(path, value, _CONTROL_MEMBERS)
        name = self.string(f"{path}.name", value.get("ControlName"))
        parameters: list[Parameter] = []
        raw_parameters = value.get("ControlInputParameters")
        if raw_parameters is not None and not isinstance(raw_parameters, list):
            self.wrong(f"{path}.parameters", "a list", raw_parameters)
            raw_parameters = None
        for index, raw in enumerate(raw_parameters or ()):
            parameter = self.parameter(f"{path}.parameters[{index}]", raw)
            if parameter is not None:
                parameters.append(parameter)
        scope = self.scope(f"{path}.scope", value.get("ControlScope"))
        return Control(name or "", parameters, scope)

    def document(self, data: Any) -> Document:
        if not isinstance(data, Mapping):
            self.wrong("", "a JSON object", data)
            raise DocumentError(self.fatal)
        data = self.unwrap_cloudformation(data)
        for key in data:
            if key not in _TOP_MEMBERS and key not in _IGNORED_MEMBERS:
                self.unknown("", key, _TOP_MEMBERS)
        controls: list[Control] = []
        raw_controls = data.get("FrameworkControls")
        if raw_controls is not None and not isinstance(raw_controls, list):
            self.wrong("controls", "a list", raw_controls)
            raw_controls = None
        for index, raw in enumerate(raw_controls or ()):
            control = _clean_control(raw)
            if control is None:  # something to report: read it again, naming each problem
                control = self.control(f"controls[{index}]", raw)
            if control is not None:
                controls.append(control)
        document = Document(
            name=self.string("name", data.get("FrameworkName")),
            description=self.string("description", data.get("FrameworkDescription")),
            controls=controls,
            tags=self.tags("tags", data.get("FrameworkTags")),
            parse_findings=self.notes,
        )
        if self.fatal:
            raise DocumentError(self.fatal)
        return document

    def unwrap_cloudformation(self, data: Mapping[Any, Any]) -> Mapping[Any, Any]:
        """``{"Type": "AWS::Backup::Framework", "Properties": {...}}`` → the properties."""
        if "Type" not in data or "FrameworkControls" in data:
            return data
        if data["Type"] != CFN_TYPE:
            self.fatal.append(
                Finding(
                    "Type",
                    "document.not_framework",
                    ERROR,
                    f"this CloudFormation resource is {data['Type']!r}, not {CFN_TYPE}",
                )
            )
            raise DocumentError(self.fatal)
        properties = data.get("Properties")
        if not isinstance(properties, Mapping):
            self.wrong("Properties", "an object", properties)
            raise DocumentError(self.fatal)
        return properties


_CONTROL_MEMBER_SET = frozenset(_CONTROL_MEMBERS)
_PARAMETER_MEMBER_SET = frozenset(_PARAMETER_MEMBERS)
_SCOPE_MEMBER_SET = frozenset(_SCOPE_MEMBERS)


def _clean_scope(value: Any) -> Scope | None:
    """The scope when ``_Parser.scope`` would note nothing about it, else None."""
    if type(value) is not dict or not value.keys() <= _SCOPE_MEMBER_SET:
        return None
    ids, types, tags = (
        value.get("ComplianceResourceIds"),
        value.get("ComplianceResourceTypes"),
        value.get("Tags"),
    )
    # Inline rather than a helper: this runs for every control of every document read.
    if ids is not None and (type(ids) is not list or not set(map(type, ids)) <= {str}):
        return None
    if types is not None and (type(types) is not list or not set(map(type, types)) <= {str}):
        return None
    if tags is not None and (
        type(tags) is not dict
        or not set(map(type, tags)) <= {str}
        or not set(map(type, tags.values())) <= {str}
    ):
        return None
    return Scope(
        resource_ids=None if ids is None else list(ids),
        resource_types=None if types is None else list(types),
        tags=None if tags is None else dict(tags),
    )


def _clean_control(value: Any) -> Control | None:
    """The control when ``_Parser.control`` would note nothing about it, else None.

    What almost every document is made of, read without building the path of each member
    (a path is only needed to name a problem); anything unusual goes to the parser, which
    reads it again and names every problem, so both give the same control."""
    if type(value) is not dict or not value.keys() <= _CONTROL_MEMBER_SET:
        return None
    name = value.get("ControlName")
    raw_parameters = value.get("ControlInputParameters")
    if name is not None and type(name) is not str:
        return None
    if raw_parameters is not None and type(raw_parameters) is not list:
        return None
    parameters = []
    for raw in raw_parameters or ():
        if type(raw) is not dict or not raw.keys() <= _PARAMETER_MEMBER_SET:
            return None
        parameter_name, parameter_value = raw.get("ParameterName"), raw.get("ParameterValue")
        if (parameter_name is not None and type(parameter_name) is not str) or (
            parameter_value is not None and type(parameter_value) is not str
        ):
            return None
        parameters.append(Parameter(parameter_name or "", parameter_value or ""))
    scope = None
    raw_scope = value.get("ControlScope")
    if raw_scope is not None:
        scope = _clean_scope(raw_scope)
        if scope is None:
            return None
    return Control(name or "", parameters, scope)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse(data: Mapping[str, Any]) -> Document:
    """Read the API form, the CloudFormation form (resource or its Properties) or a
    DescribeFramework answer. Raises ``DocumentError`` only when the input is unusable."""
    return _Parser().document(data)


# --- serialising ----------------------------------------------------------------------------


def _scope_to_api(scope: Scope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scope.resource_ids is not None:
        out["ComplianceResourceIds"] = list(scope.resource_ids)
    if scope.resource_types is not None:
        out["ComplianceResourceTypes"] = list(scope.resource_types)
    if scope.tags is not None:
        out["Tags"] = dict(scope.tags)
    return out


def _controls_to_api(controls: Iterable[Control]) -> list[dict[str, Any]]:
    out = []
    for control in controls:
        item: dict[str, Any] = {"ControlName": control.name}
        if control.parameters:
            item["ControlInputParameters"] = [
                {"ParameterName": p.name, "ParameterValue": p.value} for p in control.parameters
            ]
        if control.scope is not None:
            item["ControlScope"] = _scope_to_api(control.scope)
        out.append(item)
    return out


def to_api(doc: Document) -> dict[str, Any]:
    """The API (JSON) form with only the members that are present; tags as a map."""
    out: dict[str, Any] = {}
    if doc.name is not None:
        out["FrameworkName"] = doc.name
    if doc.description is not None:
        out["FrameworkDescription"] = doc.description
    out["FrameworkControls"] = _controls_to_api(doc.controls)
    if doc.tags is not None:
        out["FrameworkTags"] = dict(doc.tags)
    return out


def update_kwargs(doc: Document, name: str) -> dict[str, Any]:
    """Keyword arguments for boto3 ``update_framework`` (the caller adds IdempotencyToken).

    The name comes from the framework being updated, never from the document (AWS cannot
    rename). FrameworkTags are not an UpdateFramework member. The whole control list is sent
    because UpdateFramework replaces it. A document without a description (``None`` or ``""``,
    which AWS answers for "none") sends none: a blank description breaks the model's pattern,
    and an update without one keeps what AWS holds (``proposal_findings`` refuses a change
    that removes one).
    """
    out: dict[str, Any] = {"FrameworkName": name}
    if doc.description:
        out["FrameworkDescription"] = doc.description
    out["FrameworkControls"] = _controls_to_api(doc.controls)
    return out


# --- normalising and identity ---------------------------------------------------------------

ScopeKey = tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]
ControlKey = tuple[str, tuple[tuple[str, str], ...], ScopeKey]


_ALL_RESOURCES: ScopeKey = ((), (), ())


def scope_key(scope: Scope | None) -> ScopeKey:
    """A comparable, order-blind identity of a scope: ``None``, ``{}`` and empty members are
    all "all resources"; an empty tag value stays a tag (it selects different resources).

    Kept on the scope once made: validation, the diff and the account checks each ask for the
    key of every control, and sorting 100 resource IDs is most of a key's cost. A scope whose
    member is replaced gets a new key; nothing here changes a member's list in place (build a
    new ``Scope`` instead)."""
    if scope is None:
        return _ALL_RESOURCES
    ids, types, tags = scope.resource_ids, scope.resource_types, scope.tags
    kept = scope.__dict__.get("_key")
    if kept is not None and kept[0] is ids and kept[1] is types and kept[2] is tags:
        return kept[3]
    key = (
        tuple(sorted(ids)) if ids else (),
        tuple(sorted(types)) if types else (),
        tuple(sorted(tags.items())) if tags else (),
    )
    scope.__dict__["_key"] = (ids, types, tags, key)
    return key


_NAME_AND_VALUE = operator.attrgetter("name", "value")


def parameters_key(parameters: Iterable[Parameter]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(map(_NAME_AND_VALUE, parameters)))


def control_key(control: Control) -> ControlKey:
    """Identity of a control: name, parameters (a multiset) and scope."""
    return (control.name, parameters_key(control.parameters), scope_key(control.scope))


def _normal_scope(scope: Scope | None) -> Scope | None:
    ids, types, tags = scope_key(scope)
    if not ids and not types and not tags:
        return None
    return Scope(
        resource_ids=list(ids) or None,
        resource_types=list(types) or None,
        tags=dict(tags) or None,
    )


def normalise(doc: Document) -> Document:
    """The canonical form: controls, parameters, resource ids and types sorted (compared as
    multisets, duplicates kept); ``""`` description, ``[]``, ``{}`` and absent all become
    ``None``; an empty scope becomes no scope. Idempotent."""
    controls = [
        Control(
            name=control.name,
            parameters=[Parameter(n, v) for n, v in parameters_key(control.parameters)],
            scope=_normal_scope(control.scope),
        )
        for control in sorted(doc.controls, key=control_key)
    ]
    return Document(
        name=doc.name,
        description=doc.description or None,
        controls=controls,
        tags=dict(sorted(doc.tags.items())) if doc.tags else None,
    )


HASH_VERSION = 1


def content_hash(doc: Document) -> str:
    """Hex sha256 of the canonical JSON of the normalised content.

    Left out on purpose: the **name** (it is the framework's identity, not its content, so a
    renamed copy has the same content) and the **FrameworkTags** (UpdateFramework cannot change
    them, so including them would report a change no approval could ever apply). The
    description is content. A DescribeFramework answer hashes like the document it came from,
    whatever order AWS returns things in.
    """
    normal = normalise(doc)
    canonical = {
        "v": HASH_VERSION,
        "description": normal.description,
        "controls": _controls_to_api(normal.controls),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
