"""The API's limits, read from botocore's ``backup`` service model at run time.

botocore itself checks only minimum lengths client-side; the service checks the rest (and some
only show up later as a FAILED deployment). Reading lengths, patterns and list sizes from the
model means a botocore upgrade that changes a limit changes the validator with it.

Where the model states a limit, the model wins. Where it is silent, the documented limit from
the AWS Backup guide (or, for scope tags, AWS Config's rule scope) is used instead:
at least one control, control names of 1-256 characters, at most one tag pair per scope, tag
keys of 1-128 characters and values of at most 256.

``default_limits()`` is cached for speed; ``load_limits(session)`` reads a fresh copy (for a
session with another ``AWS_DATA_PATH``, as the tests do), and ``default_limits.cache_clear()``
forgets the cached one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import botocore
import botocore.session

SERVICE = "backup"

# AWS Backup Audit Manager's default quotas per account and Region (AWS raises them on request,
# so each target keeps its own, defaulting to these).
MAX_FRAMEWORKS = 15
MAX_CONTROLS = 50


@dataclass(frozen=True)
class Limit:
    """Length (or item count) bounds and a pattern for one shape; ``None`` = no limit."""

    min: int | None = None
    max: int | None = None
    pattern_text: str | None = None
    pattern: re.Pattern[str] | None = None
    #: Whether every value passes (no bounds and no pattern): most of the model's strings.
    #: Worked out once, as the validator asks it of every parameter name and value.
    unbounded: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unbounded = self.min is None and self.max is None and self.pattern is None
        object.__setattr__(self, "unbounded", unbounded)

    def merged(self, documented: Limit) -> Limit:
        """This limit where stated, the documented one where not."""
        pattern = self.pattern_text if self.pattern_text is not None else documented.pattern_text
        return _limit(
            self.min if self.min is not None else documented.min,
            self.max if self.max is not None else documented.max,
            pattern,
        )


def _limit(minimum: int | None, maximum: int | None, pattern_text: str | None) -> Limit:
    compiled = None
    if pattern_text is not None:
        try:
            # AWS patterns describe the whole value (Java's matches()); DOTALL so that a
            # description's line breaks count as characters rather than failing the match.
            compiled = re.compile(pattern_text, re.DOTALL)
        except re.error:
            # A pattern Python cannot read is skipped rather than crashing every validation.
            compiled, pattern_text = None, None
    return Limit(minimum, maximum, pattern_text, compiled)


@dataclass(frozen=True)
class ModelLimits:
    """Every limit the validator applies that a service model can state."""

    name: Limit
    description: Limit
    controls: Limit
    control_name: Limit
    parameters: Limit
    parameter_name: Limit
    parameter_value: Limit
    resource_ids: Limit
    resource_id: Limit
    resource_types: Limit
    resource_type: Limit
    scope_tags: Limit
    scope_tag_key: Limit
    scope_tag_value: Limit
    framework_tags: Limit
    framework_tag_key: Limit
    framework_tag_value: Limit
    vault_name: Limit
    source: str = ""


#: Documented limits, used only where the model states none.
_DOCUMENTED = {
    "controls": Limit(min=1),
    "control_name": Limit(min=1, max=256),
    "scope_tags": Limit(max=1),
    "scope_tag_key": Limit(min=1, max=128),
    "scope_tag_value": Limit(max=256),
    "framework_tags": Limit(max=50),
    "framework_tag_key": Limit(min=1, max=128),
    "framework_tag_value": Limit(max=256),
}


def _of(shape: Any) -> Limit:
    if shape is None:
        return Limit()
    meta = shape.metadata
    return _limit(meta.get("min"), meta.get("max"), meta.get("pattern"))


def _member(shape: Any, name: str) -> Any:
    return shape.members.get(name) if shape is not None else None


def load_limits(session: botocore.session.Session | None = None) -> ModelLimits:
    """Read the limits from the ``backup`` model that ``session`` (default: a fresh session,
    which honours ``AWS_DATA_PATH``) loads."""
    session = session or botocore.session.Session()
    model = session.get_service_model(SERVICE)
    create = model.operation_model("CreateFramework").input_shape
    controls = _member(create, "FrameworkControls")
    control = controls.member if controls is not None else None
    parameters = _member(control, "ControlInputParameters")
    parameter = parameters.member if parameters is not None else None
    scope = _member(control, "ControlScope")
    ids = _member(scope, "ComplianceResourceIds")
    types = _member(scope, "ComplianceResourceTypes")
    scope_tags = _member(scope, "Tags")
    framework_tags = _member(create, "FrameworkTags")
    vault = _member(model.operation_model("CreateBackupVault").input_shape, "BackupVaultName")
    found = {
        "name": _of(_member(create, "FrameworkName")),
        "description": _of(_member(create, "FrameworkDescription")),
        "controls": _of(controls),
        "control_name": _of(_member(control, "ControlName")),
        "parameters": _of(parameters),
        "parameter_name": _of(_member(parameter, "ParameterName")),
        "parameter_value": _of(_member(parameter, "ParameterValue")),
        "resource_ids": _of(ids),
        "resource_id": _of(ids.member if ids is not None else None),
        "resource_types": _of(types),
        "resource_type": _of(types.member if types is not None else None),
        "scope_tags": _of(scope_tags),
        "scope_tag_key": _of(scope_tags.key if scope_tags is not None else None),
        "scope_tag_value": _of(scope_tags.value if scope_tags is not None else None),
        "framework_tags": _of(framework_tags),
        "framework_tag_key": _of(framework_tags.key if framework_tags is not None else None),
        "framework_tag_value": _of(framework_tags.value if framework_tags is not None else None),
        "vault_name": _of(vault),
    }
    merged = {
        key: value.merged(_DOCUMENTED[key]) if key in _DOCUMENTED else value
        for key, value in found.items()
    }
    source = f"botocore {botocore.__version__}, {SERVICE} {model.api_version}"
    return ModelLimits(**merged, source=source)


@functools.cache
def default_limits() -> ModelLimits:
    """The limits of the installed botocore's model, read once per process."""
    return load_limits()
