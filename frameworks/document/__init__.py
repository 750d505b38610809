"""The framework document: the one place that says what is valid, what is the same and what
changed. Forms, JSON import, the command line, sync and the worker all call these names.

No Django and no boto3 (reading botocore's service model aside). Below this face: ``model``
(the parsed document, normalisation, the content hash), ``limits`` (botocore's model limits and
the AWS quotas), ``validation`` and ``checks`` (the API's rules), ``account`` (rules across a
target's frameworks), ``diff``, ``words`` (sentences for people), ``catalog`` (the controls),
``status`` (what AWS's status strings mean) and ``storable`` (text the database cannot keep).
Callers above import from here; the modules below import each other directly.
"""

from __future__ import annotations

from frameworks.document.account import Neighbour, account_findings
from frameworks.document.diff import Change, diff, diff_text, tag_diff
from frameworks.document.limits import (
    MAX_CONTROLS,
    MAX_FRAMEWORKS,
    ModelLimits,
    default_limits,
    load_limits,
)
from frameworks.document.model import (
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
    has_errors,
    normalise,
    parse,
    scope_key,
    to_api,
    update_kwargs,
)
from frameworks.document.proposal import proposal_findings
from frameworks.document.recording import (
    NOTHING,
    Recording,
    control_needs,
    framework_status_words,
    missing_types,
    recording_findings,
    recording_from_config,
    recording_words,
    type_words,
    unrecorded,
)
from frameworks.document.status import badge, deployment_sentence, deployment_state
from frameworks.document.storable import (
    TEXT_LIMITS,
    UNSTORABLE_WORDS,
    text_limit,
    unstorable,
    unstorable_in,
)
from frameworks.document.tags import TagPlan, review_hash, tag_plan, tags_hash, tags_on_the_way
from frameworks.document.validation import validate, validate_data
from frameworks.document.words import (
    describe_absent,
    describe_control,
    describe_parameter,
    describe_scope,
    finding_field_words,
    finding_words,
)

__all__ = [
    "ERROR",
    "MAX_CONTROLS",
    "MAX_FRAMEWORKS",
    "NOTHING",
    "TEXT_LIMITS",
    "UNSTORABLE_WORDS",
    "WARNING",
    "Change",
    "Control",
    "Document",
    "DocumentError",
    "Finding",
    "ModelLimits",
    "Neighbour",
    "Parameter",
    "Recording",
    "Scope",
    "Severity",
    "TagPlan",
    "account_findings",
    "badge",
    "content_hash",
    "control_key",
    "control_needs",
    "default_limits",
    "deployment_sentence",
    "deployment_state",
    "describe_absent",
    "describe_control",
    "describe_parameter",
    "describe_scope",
    "diff",
    "diff_text",
    "finding_field_words",
    "finding_words",
    "framework_status_words",
    "has_errors",
    "load_limits",
    "missing_types",
    "normalise",
    "parse",
    "proposal_findings",
    "recording_findings",
    "recording_from_config",
    "recording_words",
    "review_hash",
    "scope_key",
    "tag_diff",
    "tag_plan",
    "tags_hash",
    "tags_on_the_way",
    "text_limit",
    "to_api",
    "type_words",
    "unrecorded",
    "unstorable",
    "unstorable_in",
    "update_kwargs",
    "validate",
    "validate_data",
]
