"""The framework document: the one place that says what is valid, what is the same and what
changed. Forms, JSON import, the command line, sync and the worker all call these names.

No Django and no boto3 (reading botocore's service model aside). The implementation is split
across ``document_*.py`` modules only to keep files short; import from here.
"""

from __future__ import annotations

from frameworks.document_account import account_findings
from frameworks.document_diff import Change, diff, diff_text
from frameworks.document_limits import ModelLimits, default_limits, load_limits
from frameworks.document_model import (
    ERROR,
    WARNING,
    Control,
    Document,
    DocumentError,
    Finding,
    Parameter,
    Scope,
    Severity,
    content_hash,
    control_key,
    create_kwargs,
    has_errors,
    normalise,
    parse,
    scope_key,
    to_api,
    update_kwargs,
)
from frameworks.document_validation import validate, validate_data
from frameworks.document_words import (
    describe_absent,
    describe_control,
    describe_parameter,
    describe_scope,
)

__all__ = [
    "ERROR",
    "WARNING",
    "Change",
    "Control",
    "Document",
    "DocumentError",
    "Finding",
    "ModelLimits",
    "Parameter",
    "Scope",
    "Severity",
    "account_findings",
    "content_hash",
    "control_key",
    "create_kwargs",
    "default_limits",
    "describe_absent",
    "describe_control",
    "describe_parameter",
    "describe_scope",
    "diff",
    "diff_text",
    "has_errors",
    "load_limits",
    "normalise",
    "parse",
    "scope_key",
    "to_api",
    "update_kwargs",
    "validate",
    "validate_data",
]
