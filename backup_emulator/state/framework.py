"""One framework as the emulator holds it, and how DescribeFramework and ListFrameworks show it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Framework:
    account: str
    region: str
    name: str
    arn: str
    description: str
    controls: list[dict[str, Any]]
    tags: dict[str, str]
    creation_time: float
    deployment_status: str
    idempotency_token: str | None = None
    deploy_until: float | None = None
    outcome: str = "COMPLETED"  # what the running deployment ends in
    failure_reasons: list[str] = field(default_factory=list)

    @property
    def in_progress(self) -> bool:
        return self.deployment_status.endswith("_IN_PROGRESS")

    def describe(self, framework_status: str) -> dict[str, Any]:
        answer = {
            "FrameworkName": self.name,
            "FrameworkArn": self.arn,
            "FrameworkDescription": self.description,
            "FrameworkControls": _as_returned(self.controls),
            "CreationTime": self.creation_time,
            "DeploymentStatus": self.deployment_status,
            "FrameworkStatus": framework_status,
        }
        if self.idempotency_token is not None:
            answer["IdempotencyToken"] = self.idempotency_token
        return answer

    def summary(self) -> dict[str, Any]:
        return {
            "FrameworkName": self.name,
            "FrameworkArn": self.arn,
            "FrameworkDescription": self.description,
            "NumberOfControls": len(self.controls),
            "CreationTime": self.creation_time,
            "DeploymentStatus": self.deployment_status,
        }


def _as_returned(controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Controls as DescribeFramework shows them: empty members filled in, order not preserved."""
    shown = []
    for control in controls:
        params = sorted(
            control.get("ControlInputParameters") or [],
            key=lambda p: (p.get("ParameterName") or "", p.get("ParameterValue") or ""),
        )
        shown.append(
            {
                "ControlName": control["ControlName"],
                "ControlInputParameters": [dict(p) for p in params],
                "ControlScope": json.loads(json.dumps(control.get("ControlScope") or {})),
            }
        )
    return sorted(shown, key=lambda c: (c["ControlName"], json.dumps(c, sort_keys=True)))
