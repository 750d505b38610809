"""A small standard-library client for the emulator's run-time controls under ``/_emulator/``.

Tests in another process than the emulator (Celery workers, the demo) steer it through this class,
so it talks HTTP rather than touching ``State``. Proxies from the environment are ignored on
purpose: the emulator is always local.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class EmulatorControlError(Exception):
    """The emulator refused a control call (bad argument or unknown control)."""


class EmulatorControl:
    """Steer a running emulator: inject faults, change settings, read the call log."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method: str, action: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 (always the emulator's http URL)
            f"{self.base_url}/_emulator/{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())["result"]
        except urllib.error.HTTPError as error:
            with error:
                detail = error.read().decode("utf-8", "replace")
            raise EmulatorControlError(f"{method} /_emulator/{action}: {detail}") from None

    def fail_next(self, error: str, count: int = 1, operation: str | None = None) -> None:
        """The next ``count`` calls (of ``operation``, or any) answer with AWS error ``error``."""
        self._call("POST", "fail_next", {"error": error, "count": count, "operation": operation})

    def drop_next(
        self, count: int = 1, operation: str | None = None, after_action: bool = False
    ) -> None:
        """Close the connection of the next ``count`` calls without an answer; with
        ``after_action`` the call takes effect first (AWS accepted it, the answer was lost)."""
        payload = {"count": count, "operation": operation, "after_action": after_action}
        self._call("POST", "drop_next", payload)

    def reset_faults(self) -> None:
        """Forget the injected faults not used up yet (AWS reachable again)."""
        self._call("POST", "reset_faults")

    def set_latency(self, seconds: float) -> None:
        """Delay every API answer by ``seconds`` (0 turns it off)."""
        self._call("POST", "latency", {"seconds": seconds})

    def fail_next_deployment(self, name: str | None = None, count: int = 1) -> None:
        """The next ``count`` deployments (of framework ``name``, or any) end FAILED."""
        self._call("POST", "fail_next_deployment", {"name": name, "count": count})

    def finish_deployments(self, name: str | None = None) -> None:
        """End running deployments (of framework ``name``, or all) now instead of waiting."""
        self._call("POST", "finish_deployments", {"name": name})

    def configure(
        self,
        *,
        deploy_seconds: float | None = None,
        max_frameworks: int | None = None,
        max_controls: int | None = None,
    ) -> dict[str, Any]:
        """Change the settings given; returns the whole configuration."""
        settings = {
            "deploy_seconds": deploy_seconds,
            "max_frameworks": max_frameworks,
            "max_controls": max_controls,
        }
        return self._call("POST", "configure", {k: v for k, v in settings.items() if v is not None})

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward: STS credentials expire, deployments finish."""
        return self._call("POST", "advance_clock", {"seconds": seconds})

    def put_role(
        self,
        account: str,
        name: str,
        *,
        external_id: str | None = None,
        max_session_duration: int = 3600,
        trusted_accounts: list[str] | None = None,
    ) -> dict[str, Any]:
        """Create or replace the IAM role ``arn:aws:iam::<account>:role/<name>`` that AssumeRole
        can assume; ``external_id`` None takes any ExternalId or none, ``trusted_accounts`` None
        lets any account assume it."""
        payload = {
            "account": account,
            "name": name,
            "external_id": external_id,
            "max_session_duration": max_session_duration,
            "trusted_accounts": trusted_accounts,
        }
        return self._call("POST", "roles", payload)

    def delete_role(self, account: str, name: str) -> None:
        self._call("DELETE", "roles", {"account": account, "name": name})

    def roles(self) -> list[dict[str, Any]]:
        return self._call("GET", "roles")

    def sessions(self) -> list[dict[str, Any]]:
        """The STS sessions issued: access key, account, ARN, expiration, whether expired."""
        return self._call("GET", "sessions")

    def set_recording(
        self,
        account: str,
        region: str,
        *,
        mode: str = "all",
        resource_types: list[str] | None = None,
        recording: bool = True,
        unavailable: bool = False,
    ) -> dict[str, Any]:
        """What AWS Config records in one account and Region: ``mode`` all / include / exclude
        (``resource_types`` like ``AWS::EC2::Volume``) / none (no recorder); ``recording=False``
        a stopped recorder; ``unavailable=True`` FrameworkStatus UNAVAILABLE."""
        payload = {
            "account": account,
            "region": region,
            "mode": mode,
            "resource_types": resource_types or [],
            "recording": recording,
            "unavailable": unavailable,
        }
        return self._call("POST", "recording", payload)

    def recording(self) -> list[dict[str, Any]]:
        """Every account and Region whose recording is set (all others record everything)."""
        return self._call("GET", "recording")

    def calls(self) -> list[dict[str, Any]]:
        """The API calls so far, oldest first (see ``server.Handler._api`` for the keys)."""
        return self._call("GET", "calls")

    def clear_calls(self) -> None:
        self._call("DELETE", "calls")

    def reset(self) -> None:
        """Forget frameworks, tokens, STS sessions, faults, calls and the clock offset;
        configuration, roles and recording back to their start values."""
        self._call("POST", "reset")

    def state(self) -> dict[str, Any]:
        """A dump of the whole model, for assertions and debugging."""
        return self._call("GET", "state")
