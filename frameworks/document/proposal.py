"""Rules about a proposal relative to what AWS holds now (its base).

Import from ``frameworks.document``. ``validate`` judges a document on its own; some rules need
the live document too.
"""

from __future__ import annotations

from frameworks.document.model import ERROR, Document, Finding


def proposal_findings(base: Document | None, proposed: Document) -> list[Finding]:
    """Errors a change would meet only because of what AWS holds now.

    A description, once set, cannot be removed: UpdateFramework without a description keeps
    the one AWS holds, and a blank one breaks the model's pattern (``.*\\S.*``), so there is
    no request that is documented to clear it. The product never sends ``""``; it refuses
    the removal here instead of applying a change AWS would not carry out.
    """
    if base is None or not base.description or proposed.description:
        return []
    return [
        Finding(
            "description",
            "description.cannot_remove",
            ERROR,
            "AWS cannot remove a framework's description once it is set (an update without "
            "one keeps it): write a new description instead of deleting it",
        )
    ]
