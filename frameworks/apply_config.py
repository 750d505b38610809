"""Why a deployment FAILED, when AWS Config recording is the cause.

AWS Backup deploys controls as AWS Config rules; in an account that does not record what the
controls evaluate, a valid framework ends FAILED and INACTIVE. The worker reads the recorders
once at that moment (falling back to what the last sync read) and, when recording explains the
failure, says so in the change's error, naming the types and the controls.
"""

from __future__ import annotations

import logging
from typing import Any

from frameworks import aws, document
from frameworks.models import ChangeRequest

log = logging.getLogger(__name__)


def recording_now(change: ChangeRequest) -> document.Recording | None:
    """What AWS Config records in the change's target: read now, else the last sync's."""
    target = change.target
    try:
        recorders, statuses = aws.describe_config_recording(target, max_attempts=1)
    except aws.AwsError as exc:
        log.warning("change %s: AWS Config recording not readable: %s", change.pk, exc)
        return target.recording
    return document.recording_from_config(recorders, statuses)


def failure_cause(change: ChangeRequest, answer: dict[str, Any] | None) -> dict[str, Any]:
    """Extra words and facts for a FAILED deployment's error ({} when recording does not
    explain it)."""
    if change.proposed_version is None:
        return {}
    doc = change.proposed_version.as_document()
    recording = recording_now(change)
    if recording is None:
        return {}
    words = document.recording_words(doc, recording, change.target.region)
    if not words:
        return {}
    status = (answer or {}).get("FrameworkStatus") or ""
    status_words = document.framework_status_words(status)
    return {
        "cause": "ConfigNotRecording",
        "cause_words": f"{words} {status_words}".strip()
        + " Turn on AWS Config recording of these resource types, then start a new change "
        "from this one.",
        "unrecorded_types": document.missing_types(doc, recording),
    }
