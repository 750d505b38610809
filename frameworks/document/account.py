"""Account-level checks: quotas and AWS's AlreadyExists rule, against the other frameworks
of the same account and Region known locally."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from frameworks.document.limits import MAX_CONTROLS, MAX_FRAMEWORKS
from frameworks.document.model import (
    ERROR,
    Document,
    Finding,
    parameters_key,
)


def _same_controls_key(doc: Document) -> tuple[Any, ...]:
    return tuple(sorted((c.name, parameters_key(c.parameters)) for c in doc.controls))


@dataclass(frozen=True)
class Neighbour:
    """What the account checks need of another framework: its name, how many controls it has
    and which controls and parameters (its scopes do not count). Small and immutable, so a
    caller can keep one per content hash instead of parsing the document again."""

    name: str | None
    controls: int
    same_controls_key: tuple[Any, ...]

    @classmethod
    def of(cls, doc: Document) -> Neighbour:
        return cls(doc.name, len(doc.controls), _same_controls_key(doc))

    def named(self, name: str | None) -> Neighbour:
        return dataclasses.replace(self, name=name)


def account_findings(
    doc: Document,
    others: Iterable[Document | Neighbour],
    *,
    max_frameworks: int = MAX_FRAMEWORKS,
    max_controls: int = MAX_CONTROLS,
    is_new: bool,
) -> list[Finding]:
    """Checks against the other frameworks of the same account and Region known locally.

    ``others`` must not include the framework being updated. The quotas are AWS's defaults,
    adjustable per account, so callers pass the target's. A framework with the same controls
    and parameters makes AWS answer AlreadyExists. The documentation names controls and
    parameters only, so scopes do not count: better to stop a change here than to have AWS
    refuse it after it was approved.
    """
    known = [o if isinstance(o, Neighbour) else Neighbour.of(o) for o in others]
    findings: list[Finding] = []
    if is_new and doc.name is not None and any(other.name == doc.name for other in known):
        findings.append(
            Finding(
                "name",
                "account.name_taken",
                ERROR,
                f"a framework named {doc.name} already exists here",
            )
        )
    if is_new and len(known) + 1 > max_frameworks:
        findings.append(
            Finding(
                "",
                "account.too_many_frameworks",
                ERROR,
                f"this account and Region already has {len(known)} frameworks; "
                f"the quota is {max_frameworks}",
            )
        )
    total = sum(other.controls for other in known) + len(doc.controls)
    if total > max_controls:
        findings.append(
            Finding(
                "controls",
                "account.too_many_controls",
                ERROR,
                f"would bring the controls in this account and Region to {total}; "
                f"the quota is {max_controls}, counted across frameworks",
            )
        )
    mine = _same_controls_key(doc)
    for other in known:
        if other.same_controls_key == mine:
            label = other.name or "another framework"
            findings.append(
                Finding(
                    "controls",
                    "account.same_controls",
                    ERROR,
                    f"{label} already has the same controls and parameters (scopes do not "
                    "count); AWS refuses a second one (AlreadyExists)",
                )
            )
    return findings
