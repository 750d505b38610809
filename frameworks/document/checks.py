"""Shared checks of the validator: lengths and patterns, tags and scopes.

Split from ``document_validation`` to keep files short; the ``Checks`` class collects findings
and the validator there adds the framework, control and parameter rules on top.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from frameworks.document.catalog import (
    BACKUP_PLAN_TYPE,
    BACKUP_VAULT_TYPE,
    RESOURCE_TYPES,
    SCOPE_RESOURCE,
    SCOPE_TAG,
    SCOPE_TYPES,
    ControlSpec,
)
from frameworks.document.limits import Limit, ModelLimits
from frameworks.document.model import ERROR, WARNING, Finding, Scope, Severity

_KNOWN_TYPES = frozenset((*RESOURCE_TYPES, BACKUP_VAULT_TYPE, BACKUP_PLAN_TYPE))
#: Plain-words readings of the model's patterns; an unknown (new) pattern is quoted instead.
_PATTERN_WORDS = {
    "[a-zA-Z][_a-zA-Z0-9]*": "must start with a letter and contain only letters, digits and "
    "underscores (no hyphens or spaces)",
    ".*\\S.*": "must not be blank; leave it out instead",
    "^[a-zA-Z0-9\\-\\_]{2,50}$": "must be a backup vault name (2 to 50 letters, digits, "
    "hyphens or underscores), not an ARN",
}
_SCOPE_WORDS = {SCOPE_TYPES: "resource types", SCOPE_TAG: "a tag", SCOPE_RESOURCE: "one resource"}


def _length(text: str) -> int:
    """Length as AWS counts it (UTF-16 code units), which exceeds len() for emoji."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _fits(value: str, limit: Limit) -> bool:
    """Whether ``value`` passes ``limit`` (the quiet twin of ``Checks.text``)."""
    length = _length(value)
    if limit.min is not None and length < limit.min:
        return False
    if limit.max is not None and length > limit.max:
        return False
    return limit.pattern is None or limit.pattern.fullmatch(value) is not None


def _all_clean(values: list[str], limit: Limit) -> bool:
    """True when every item is non-empty, unpadded, unique and within ``limit``: the common
    case, checked with C-level scans (``map``, ``set``, list comparison) instead of a Python
    loop. False sends the caller to the item-by-item loop that names each problem."""
    if not values:
        return False
    unique = set(values)
    if len(unique) != len(values) or "" in unique:
        return False
    if list(map(str.strip, values)) != values:
        return False
    if limit.min is not None or limit.max is not None:
        if not all(map(str.isascii, values)):
            return False
        lengths = list(map(len, values))
        if limit.min is not None and min(lengths) < limit.min:
            return False
        if limit.max is not None and max(lengths) > limit.max:
            return False
    return limit.pattern is None or all(map(limit.pattern.fullmatch, values))


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, ignoring case ("s3" -> "S3"), or None."""
    by_lower = {item.lower(): item for item in known}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return by_lower[close[0]] if close else None


def _tag_text_ok(text: str) -> bool:
    """AWS's documented tag characters: letters, digits and spaces of any language, and
    ``_ . : / = + - @``."""
    return all(char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LNZ" for char in text)


_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class Checks:
    """Collects findings; each method checks one kind of value."""

    def __init__(self, limits: ModelLimits) -> None:
        self.limits = limits
        self.findings: list[Finding] = []

    def add(self, path: str, code: str, message: str, severity: Severity = ERROR) -> None:
        self.findings.append(Finding(path, code, severity, message))

    def text(self, path: str, code: str, value: str, limit: Limit, *, what: str = "") -> bool:
        """Length and pattern of one string; True when it passed. ``what`` names the value
        in the message when the path alone does not (a tag key)."""
        if limit.unbounded:  # most of the model's strings: nothing to measure
            return True
        length = _length(value)
        if limit.min is not None and length < limit.min:
            if length == 0:
                self.add(path, f"{code}.too_short", f"{what}must not be empty")
            else:
                self.add(
                    path,
                    f"{code}.too_short",
                    f"{what}must be at least {limit.min} characters; it has {length}",
                )
            return False
        if limit.max is not None and length > limit.max:
            self.add(
                path,
                f"{code}.too_long",
                f"{what}must be at most {limit.max} characters; it has {length}",
            )
            return False
        if limit.pattern is not None and not limit.pattern.fullmatch(value):
            words = _PATTERN_WORDS.get(limit.pattern_text or "")
            words = words or f"must match the pattern {limit.pattern_text}"
            self.add(path, f"{code}.pattern", f"{what}{words}")
            return False
        return True

    def count(self, path: str, code: str, size: int, limit: Limit, noun: str) -> None:
        if limit.min is not None and size < limit.min:
            self.add(path, f"{code}.too_few", f"needs at least {_plural(limit.min, noun)}")
        elif limit.max is not None and size > limit.max:
            self.add(
                path,
                f"{code}.too_many",
                f"takes at most {_plural(limit.max, noun)}; it has {size}",
            )

    # --- tags -----------------------------------------------------------------------------

    def tags(self, path: str, code: str, tags: dict[str, str], *, framework: bool) -> None:
        limits = self.limits
        count_limit = limits.framework_tags if framework else limits.scope_tags
        key_limit = limits.framework_tag_key if framework else limits.scope_tag_key
        value_limit = limits.framework_tag_value if framework else limits.scope_tag_value
        if count_limit.max is not None and len(tags) > count_limit.max:
            what = "a framework" if framework else "a scope"
            self.add(
                path,
                f"{code}.too_many",
                f"{what} takes at most {_plural(count_limit.max, 'tag')}; it has {len(tags)}",
            )
        for key, value in tags.items():
            if not self.text(path, f"{code}.key", key, key_limit, what="the tag key "):
                continue
            if framework and key.lower().startswith("aws:"):
                self.add(
                    path,
                    f"{code}.reserved",
                    f"the tag key {key!r} starts with aws:, which AWS keeps for its own tags",
                )
            if not self.text(
                path, f"{code}.value", value, value_limit, what=f"the value of {key!r} "
            ):
                continue
            if framework:
                for what, text in (("key", key), ("value", value)):
                    if not _tag_text_ok(text):
                        self.add(
                            path,
                            f"{code}.characters",
                            f"the tag {what} {text!r} has a character AWS does not allow in "
                            "tags: use letters, digits, spaces and _ . : / = + - @ only",
                        )
            if not framework and value == "":
                self.add(
                    path,
                    "scope.tag_value_empty",
                    f"the tag {key!r} has an empty value: AWS accepts it but its console "
                    "refuses it, and it is not the same as leaving the tag out",
                    WARNING,
                )

    # --- scope ----------------------------------------------------------------------------

    def scope(self, path: str, scope: Scope, spec: ControlSpec | None) -> None:
        limits = self.limits
        ids, types, tags = scope.resource_ids, scope.resource_types, scope.tags
        if ids is not None:
            if not ids:
                self.add(
                    f"{path}.resource_ids",
                    "scope.resource_ids_empty",
                    "is an empty list, which AWS refuses; leave it out to cover all resources",
                )
            else:
                self.count(
                    f"{path}.resource_ids",
                    "scope.resource_ids",
                    len(ids),
                    limits.resource_ids,
                    "resource ID",
                )
            vault = spec is not None and spec.resource_scope_types == (BACKUP_VAULT_TYPE,)
            id_limit = limits.vault_name if vault else limits.resource_id
            self.strings(f"{path}.resource_ids", "scope.resource_id", ids, id_limit)
        if types:
            if not limits.resource_types.unbounded:  # unbounded in today's model
                self.count(
                    f"{path}.resource_types",
                    "scope.resource_types",
                    len(types),
                    limits.resource_types,
                    "resource type",
                )
            checked = self.strings(
                f"{path}.resource_types", "scope.resource_type", types, limits.resource_type
            )
            for index, name in checked:
                if name not in _KNOWN_TYPES:
                    close = suggest(name, RESOURCE_TYPES)
                    hint = f"; did you mean {close}?" if close else ""
                    self.add(
                        f"{path}.resource_types[{index}]",
                        "scope.unknown_resource_type",
                        f"{name!r} is not a resource type this product knows{hint} (AWS "
                        "adds types over time, so check it)",
                        WARNING,
                    )
        if tags:
            self.tags(f"{path}.tags", "scope.tags", tags, framework=False)
        self.kinds(path, scope, spec)

    def strings(
        self, path: str, code: str, values: list[str], limit: Limit
    ) -> Iterable[tuple[int, str]]:
        """Each item: not empty, no spaces around, within the model's limit. Returns the
        items that passed, with their index (to be read once).

        Up to 100 ids per control and 50 controls make this the validator's hot loop, so the
        common case (a clean item) costs one strip and, when the model has a limit, one check.
        """
        if _all_clean(values, limit):
            return enumerate(values)  # not a list: the resource IDs' caller does not read it
        passed = []
        limited = limit.min is not None or limit.max is not None or limit.pattern is not None
        for index, value in enumerate(values):
            if value and value == value.strip() and (not limited or _fits(value, limit)):
                passed.append((index, value))
                continue
            where = f"{path}[{index}]"
            if not value:
                self.add(where, f"{code}_empty", "is empty")
            elif value != value.strip():
                self.add(where, "scope.whitespace", f"{value!r} has spaces around it")
            else:
                self.text(where, code, value, limit)
        if len({value for _, value in passed}) != len(passed):
            seen: set[str] = set()
            for index, value in passed:
                if value in seen:
                    self.add(
                        f"{path}[{index}]",
                        f"{code}_duplicate",
                        f"{value!r} is listed twice",
                        WARNING,
                    )
                seen.add(value)
        return passed

    def kinds(self, path: str, scope: Scope, spec: ControlSpec | None) -> None:
        ids, types, tags = scope.resource_ids, scope.resource_types or [], scope.tags
        used = set()
        if ids:
            used.add(SCOPE_RESOURCE)
            if len(types) != 1:
                self.add(
                    f"{path}.resource_types",
                    "scope.resource_needs_one_type",
                    "a scope naming resources needs exactly one resource type; it has "
                    f"{len(types)}",
                )
            elif spec and spec.resource_scope_types and types[0] not in spec.resource_scope_types:
                self.add(
                    f"{path}.resource_types",
                    "scope.resource_type_not_accepted",
                    f"{spec.name} names a single resource with the type "
                    f"{' or '.join(spec.resource_scope_types)} and the "
                    f"{spec.resource_id_label} as ID",
                )
            if tags:
                self.add(
                    path,
                    "scope.ids_and_tag",
                    "combines resource IDs with a tag, which "
                    "AWS does not document; prefer one or the other",
                    WARNING,
                )
        elif types:
            used.add(SCOPE_TYPES)
            if tags:
                self.add(
                    path,
                    "scope.types_and_tag",
                    "combines resource types with a tag: AWS "
                    "does not document this, though it is deployed in production",
                    WARNING,
                )
        if tags:
            used.add(SCOPE_TAG)
        if spec is None:
            return
        refused = sorted(used - spec.scope_kinds)
        if refused:
            accepted = [_SCOPE_WORDS[kind] for kind in sorted(spec.scope_kinds)]
            self.add(
                path,
                "scope.kind_not_accepted",
                f"{spec.name} cannot be scoped by {' or '.join(_SCOPE_WORDS[k] for k in refused)}"
                f"; it accepts {', '.join(accepted)} or all resources",
            )
