"""Account-level checks: quotas and AWS's AlreadyExists rule, against the other frameworks
of the same account and Region known locally."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from frameworks.document.model import (
    ERROR,
    Document,
    Finding,
    parameters_key,
)


def _same_controls_key(doc: Document) -> tuple[Any, ...]:
    return tuple(sorted((c.name, parameters_key(c.parameters)) for c in doc.controls))


def account_findings(
    doc: Document,
    others: Iterable[Document],
    *,
    max_frameworks: int = 15,
    max_controls: int = 50,
    is_new: bool,
) -> list[Finding]:
    """Checks against the other frameworks of the same account and Region known locally.

    ``others`` must not include the framework being updated. The quotas are AWS's defaults,
    adjustable per account, so callers pass the target's. A framework with the same controls
    and parameters makes AWS answer AlreadyExists. The documentation names controls and
    parameters only, so scopes do not count: better to stop a change here than to have AWS
    refuse it after it was approved.
    """
    others = list(others)
    findings: list[Finding] = []
    if is_new and doc.name is not None and any(other.name == doc.name for other in others):
        findings.append(
            Finding(
                "name",
                "account.name_taken",
                ERROR,
                f"a framework named {doc.name} already exists here",
            )
        )
    if is_new and len(others) + 1 > max_frameworks:
        findings.append(
            Finding(
                "",
                "account.too_many_frameworks",
                ERROR,
                f"this account and Region already has {len(others)} frameworks; "
                f"the quota is {max_frameworks}",
            )
        )
    total = sum(len(other.controls) for other in others) + len(doc.controls)
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
    for other in others:
        if _same_controls_key(other) == mine:
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
