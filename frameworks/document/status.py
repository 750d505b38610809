"""What AWS's status strings mean, and their words: a framework's DeploymentStatus (is AWS
still deploying, did it fail, is it done) and its FrameworkStatus (is it recording). The
worker, the apply-status timeline and the status badges all read this one table.

AWS's own samples print "Active" where the API documents COMPLETED, so statuses are matched
loosely (case, spaces) and an unknown one is shown as it came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["running", "failed", "done"]


@dataclass(frozen=True)
class Status:
    badge: str  # a few words for a badge
    tone: str  # the badge's colour: ok, busy, warn, bad
    sentence: str = ""  # what a person reads in the apply timeline


DEPLOYMENT: dict[str, Status] = {
    "CREATE_IN_PROGRESS": Status(
        "Being created", "busy", "AWS is creating the framework and deploying its controls."
    ),
    "UPDATE_IN_PROGRESS": Status("Being updated", "busy", "AWS is deploying the controls."),
    "DELETE_IN_PROGRESS": Status("Being deleted", "busy", "AWS is deleting the framework."),
    "COMPLETED": Status("Deployed", "ok", "AWS finished deploying."),
    "FAILED": Status("Deployment failed", "bad", "AWS could not deploy the controls."),
    # Not AWS's: what the worker records when DescribeFramework no longer finds the framework.
    "GONE": Status("Gone", "bad", "The framework is gone from AWS."),
}

FRAMEWORK: dict[str, Status] = {
    "ACTIVE": Status("Recording on", "ok"),
    "PARTIALLY_ACTIVE": Status("Recording partly on", "warn"),
    "INACTIVE": Status("Recording off", "bad"),
    "UNAVAILABLE": Status("Unavailable", "bad"),
}


def status_key(status: str | None) -> str:
    return (status or "").strip().upper().replace(" ", "_")


def deployment_state(status: str | None) -> State:
    """ "running", "failed" or "done" for a DeploymentStatus, read defensively."""
    value = status_key(status)
    if value.endswith("IN_PROGRESS"):
        return "running"
    if value == "FAILED":
        return "failed"
    return "done"


def deployment_sentence(status: str | None, default: str = "") -> str:
    known = DEPLOYMENT.get(status_key(status))
    return known.sentence if known else default


def badge(status: str | None) -> Status | None:
    """The badge of a DeploymentStatus or a FrameworkStatus, None for one unknown."""
    key = status_key(status)
    return DEPLOYMENT.get(key) or FRAMEWORK.get(key)
