"""The run-time controls of ``State`` (``/_emulator/`` in ``server.py``): injected faults, settings,
the clock, IAM roles, AWS Config recording, the call log. A mixin, so ``State`` stays one object
with one lock while its model and its controls live in files of their own size."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from typing import Any

from .. import identity, recording, rules
from ..identity import Role, Session
from ..recording import Recording
from .framework import Framework
from .operations import BACKUP_OPERATIONS, OPERATIONS

MAX_CALLS = 10_000


class RunTimeControls:
    """What a test may change while the emulator runs; every public method takes the lock."""

    lock: threading.RLock
    config: dict[str, Any]
    _initial_config: dict[str, Any]
    _initial_roles: dict[tuple[str, str], Role]
    _initial_recordings: dict[tuple[str, str], Recording]
    roles: dict[tuple[str, str], Role]
    recordings: dict[tuple[str, str], Recording]
    sessions: dict[str, Session]
    clock_offset: float
    latency: float
    _injections: list[dict[str, Any]]
    _deployment_failures: list[dict[str, Any]]
    _calls: list[dict[str, Any]]
    _seq: int
    # Owned by the model half of State (model.py).
    _frameworks: dict[tuple[str, str, str], Framework]

    def now(self) -> float:
        """The emulator's clock: wall-clock time plus whatever ``advance_clock`` added."""
        return time.time() + self.clock_offset

    def _settle(self) -> None:
        raise NotImplementedError  # State finishes deployments

    def fail_next(self, error: str, count: int = 1, operation: str | None = None) -> None:
        if error not in rules.INJECTABLE_ERRORS:
            raise ValueError(f"unknown error {error!r}; use one of {list(rules.INJECTABLE_ERRORS)}")
        self._inject({"kind": "fail", "error": error, "count": count, "operation": operation})

    def drop_next(
        self, count: int = 1, operation: str | None = None, after_action: bool = False
    ) -> None:
        self._inject(
            {
                "kind": "drop",
                "after_action": bool(after_action),
                "count": count,
                "operation": operation,
            }
        )

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward (never back); returns the new time."""
        if float(seconds) < 0:
            raise ValueError("the clock only moves forward")
        with self.lock:
            self.clock_offset += float(seconds)
            self._settle()
            return self.now()

    def set_defaults(
        self,
        *,
        roles: list[Role] | None = None,
        recordings: dict[tuple[str, str], Recording] | None = None,
    ) -> None:
        """Add start values (the demo seed's): now in force, and what ``reset()`` returns to."""
        with self.lock:
            for role in roles or []:
                self._initial_roles[(role.account, role.name)] = role
                self.roles[(role.account, role.name)] = role
            for key, value in (recordings or {}).items():
                if not value.started:
                    value = replace(value, started=self.now())
                self._initial_recordings[key] = value
                self.recordings[key] = value

    def put_role(self, **spec: Any) -> dict[str, Any]:
        """Create or replace a role (``identity.make_role`` keywords)."""
        role = identity.make_role(**spec)
        with self.lock:
            self.roles[(role.account, role.name)] = role
            return role.as_dict()

    def delete_role(self, account: str, name: str) -> None:
        with self.lock:
            if self.roles.pop((account, name), None) is None:
                raise ValueError(f"no role {name!r} in account {account}")

    def list_roles(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.as_dict() for _, r in sorted(self.roles.items())]

    def set_recording(self, account: str, region: str, **spec: Any) -> dict[str, Any]:
        """What AWS Config records in one account and Region (``recording.make_recording``)."""
        if not rules.ACCOUNT_ID.fullmatch(str(account)) or not region:
            raise ValueError("account must be 12 digits and region must be given")
        value = recording.make_recording(**spec, started=self.now())
        with self.lock:
            self.recordings[(account, region)] = value
            return {"account": account, "region": region, **value.as_dict()}

    def list_recordings(self) -> list[dict[str, Any]]:
        """Every account and Region whose recording is set (all others record everything)."""
        with self.lock:
            return [
                {"account": a, "region": r, **value.as_dict()}
                for (a, r), value in sorted(self.recordings.items())
            ]

    def sessions_dump(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "access_key": s.access_key,
                    "account": s.account,
                    "arn": s.arn,
                    "expiration": s.expiration,
                    "expired": self.now() >= s.expiration,
                }
                for s in self.sessions.values()
            ]

    def _inject(self, injection: dict[str, Any]) -> None:
        if injection["operation"] not in (None, *OPERATIONS):
            raise ValueError(f"unknown operation {injection['operation']!r}")
        if int(injection["count"]) < 1:
            raise ValueError("count must be at least 1")
        with self.lock:
            self._injections.append(injection)

    def take_injection(self, operation: str) -> dict[str, Any] | None:
        """The first injected fault matching this operation, used up by one call."""
        with self.lock:
            for injection in self._injections:
                wanted = injection["operation"]
                if wanted == operation or (wanted is None and operation in BACKUP_OPERATIONS):
                    injection["count"] -= 1
                    if injection["count"] <= 0:
                        self._injections.remove(injection)
                    return dict(injection)
            return None

    def reset_faults(self) -> None:
        """Forget every injected fault that has not been used up yet (AWS reachable again)."""
        with self.lock:
            self._injections.clear()

    def fail_next_deployment(self, name: str | None = None, count: int = 1) -> None:
        with self.lock:
            self._deployment_failures.append({"name": name, "count": int(count)})

    def finish_deployments(self, name: str | None = None) -> None:
        """End the running deployments (of one framework name) now instead of waiting."""
        with self.lock:
            for framework in self._frameworks.values():
                if framework.in_progress and name in (None, framework.name):
                    framework.deploy_until = 0.0
            self._settle()

    def set_latency(self, seconds: float) -> None:
        with self.lock:
            self.latency = max(0.0, float(seconds))

    def configure(self, **settings: float | int) -> dict[str, Any]:
        unknown = set(settings) - set(self.config)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        if any(float(value) < 0 for value in settings.values()):
            raise ValueError("settings must not be negative")
        with self.lock:
            for key, value in settings.items():
                self.config[key] = type(self._initial_config[key])(value)
            return dict(self.config)

    def record_call(self, **call: Any) -> dict[str, Any]:
        with self.lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": time.time(), **call}
            self._calls.append(entry)
            del self._calls[:-MAX_CALLS]
            return entry

    def calls(self) -> list[dict[str, Any]]:
        with self.lock:
            return json.loads(json.dumps(self._calls))

    def clear_calls(self) -> None:
        with self.lock:
            self._calls.clear()
