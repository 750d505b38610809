"""The emulator's model of AWS Backup frameworks: one object, one lock, optionally saved to a file.

Everything the HTTP layer or a test can change lives here (frameworks, remembered idempotency
tokens, injected faults, the call log, the configuration), behind a single ``threading.RLock`` so
concurrent requests see AWS-like serial behaviour.

Deployment is modelled lazily: a create/update/delete sets ``deploy_until`` (wall-clock seconds, so
it survives a restart from ``--state``) and every access first "settles" the frameworks whose time
has come: ``*_IN_PROGRESS`` becomes ``COMPLETED`` or ``FAILED``, and a finished delete removes the
framework.

Choices where AWS's behaviour is not public:

* An identical UpdateFramework redeploys (UPDATE_IN_PROGRESS again) and changes nothing else.
* Only successful answers are remembered per (account, Region, operation, IdempotencyToken); an
  error is not, so a retry after ServiceUnavailableException really runs. The same token with a
  different body replays the first answer too. Tokens are remembered until ``reset()``.
* A forced deployment failure (``fail_next_deployment``) of a delete leaves the framework in place
  with DeploymentStatus FAILED.
* Frameworks whose delete is still running count towards the quotas and the duplicate-controls
  rule, and keep their name taken.
* DescribeFramework returns controls sorted by name and parameters sorted by name, not in the order
  sent: AWS may reorder them (Terraform treats them as sets), so a product must not compare by
  position. ListFrameworks pages through names in sorted order; its NextToken is base64 of
  (account, Region, last name), so paging survives creates and deletes between pages.
* A name that breaks the name pattern in the URI of Describe/Update/Delete answers
  InvalidParameterValueException rather than ResourceNotFoundException.
* The call log keeps the last 10,000 calls, so a long demo run does not grow without bound.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import rules
from .rules import ApiError

MAX_CALLS = 10_000
OPERATIONS = (
    "CreateFramework",
    "UpdateFramework",
    "DescribeFramework",
    "ListFrameworks",
    "DeleteFramework",
)


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
    framework_status: str = "ACTIVE"
    deploy_until: float | None = None
    outcome: str = "COMPLETED"  # what the running deployment ends in
    failure_reasons: list[str] = field(default_factory=list)

    @property
    def in_progress(self) -> bool:
        return self.deployment_status.endswith("_IN_PROGRESS")

    def describe(self) -> dict[str, Any]:
        answer = {
            "FrameworkName": self.name,
            "FrameworkArn": self.arn,
            "FrameworkDescription": self.description,
            "FrameworkControls": _as_returned(self.controls),
            "CreationTime": self.creation_time,
            "DeploymentStatus": self.deployment_status,
            "FrameworkStatus": self.framework_status,
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


class State:
    """All of the emulator's state; every public method takes the lock."""

    def __init__(
        self,
        *,
        deploy_seconds: float = 2.0,
        max_frameworks: int = 15,
        max_controls: int = 50,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self._initial_config = {
            "deploy_seconds": float(deploy_seconds),
            "max_frameworks": int(max_frameworks),
            "max_controls": int(max_controls),
        }
        self.config = dict(self._initial_config)
        self.latency = 0.0
        self.state_file = Path(state_file) if state_file else None
        self._frameworks: dict[tuple[str, str, str], Framework] = {}
        self._tokens: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._injections: list[dict[str, Any]] = []
        self._deployment_failures: list[dict[str, Any]] = []
        self._calls: list[dict[str, Any]] = []
        self._seq = 0
        if self.state_file and self.state_file.exists():
            self._load(self.state_file)

    # --- the API --------------------------------------------------------------------------------

    def execute(
        self, operation: str, account: str, region: str, params: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        """Run one API operation; return (answer body or None, whether state changed)."""
        with self.lock:
            self._settle()
            token = params.get("IdempotencyToken")
            if operation in ("CreateFramework", "UpdateFramework") and isinstance(token, str):
                remembered = self._tokens.get((account, region, operation, token))
                if remembered is not None:
                    return dict(remembered), False
            if operation == "CreateFramework":
                answer = self._create(account, region, params)
            elif operation == "UpdateFramework":
                answer = self._update(account, region, params)
            elif operation == "DeleteFramework":
                answer = self._delete(account, region, params)
            elif operation == "DescribeFramework":
                return self._get(account, region, params.get("FrameworkName")).describe(), False
            elif operation == "ListFrameworks":
                return self._list(account, region, params), False
            else:
                raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
            if operation != "DeleteFramework" and isinstance(token, str):
                self._tokens[(account, region, operation, token)] = dict(answer)
            self._settle()
            self._save()
            return (answer or None), True

    def _get(self, account: str, region: str, name: Any) -> Framework:
        rules.validate_name(name)
        framework = self._frameworks.get((account, region, name))
        if framework is None:
            raise ApiError(
                "ResourceNotFoundException", f"Framework {name} does not exist.", Context=name
            )
        return framework

    def _create(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        rules.validate_framework_input(body, creating=True)
        name = body["FrameworkName"]
        if (account, region, name) in self._frameworks:
            existing = self._frameworks[(account, region, name)]
            raise ApiError(
                "AlreadyExistsException",
                f"Framework {name} already exists.",
                Context=name,
                Arn=existing.arn,
                CreatorRequestId=existing.idempotency_token or "",
            )
        controls = body["FrameworkControls"]
        self._check_duplicate(account, region, controls, None)
        self._check_quotas(account, region, controls, None)
        framework = Framework(
            account=account,
            region=region,
            name=name,
            arn=f"arn:aws:backup:{region}:{account}:framework:{name}-{uuid.uuid4()}",
            description=body.get("FrameworkDescription") or "",
            controls=json.loads(json.dumps(controls)),
            tags=dict(body.get("FrameworkTags") or {}),
            creation_time=round(time.time(), 3),
            deployment_status="",
            idempotency_token=body.get("IdempotencyToken"),
        )
        self._frameworks[(account, region, name)] = framework
        self._start_deployment(framework, "CREATE")
        return {"FrameworkName": name, "FrameworkArn": framework.arn}

    def _update(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        framework = self._get(account, region, body.get("FrameworkName"))
        rules.validate_framework_input(body, creating=False)
        self._check_not_busy(framework)
        controls = body["FrameworkControls"]
        self._check_duplicate(account, region, controls, framework)
        self._check_quotas(account, region, controls, framework)
        framework.controls = json.loads(json.dumps(controls))
        if body.get("FrameworkDescription") is not None:
            framework.description = body["FrameworkDescription"]
        framework.idempotency_token = body.get("IdempotencyToken")
        self._start_deployment(framework, "UPDATE")
        return {
            "FrameworkName": framework.name,
            "FrameworkArn": framework.arn,
            "CreationTime": framework.creation_time,
        }

    def _delete(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        framework = self._get(account, region, params.get("FrameworkName"))
        self._check_not_busy(framework)
        self._start_deployment(framework, "DELETE")
        return {}

    def _list(self, account: str, region: str, query: dict[str, Any]) -> dict[str, Any]:
        raw_max = query.get("MaxResults")
        limit = 1000
        if raw_max is not None:
            if not rules.INTEGER.fullmatch(str(raw_max)) or not 1 <= int(raw_max) <= 1000:
                raise rules.invalid("MaxResults must be between 1 and 1000.", "MaxResults")
            limit = int(raw_max)
        names = sorted(n for (a, r, n) in self._frameworks if (a, r) == (account, region))
        after = rules.decode_next_token(query.get("NextToken"), account, region)
        if after is not None:
            names = [n for n in names if n > after]
        page = names[:limit]
        answer: dict[str, Any] = {
            "Frameworks": [self._frameworks[(account, region, n)].summary() for n in page]
        }
        if len(names) > limit:
            answer["NextToken"] = rules.encode_next_token(account, region, page[-1])
        return answer

    def _check_not_busy(self, framework: Framework) -> None:
        if framework.in_progress:
            raise ApiError(
                "ConflictException",
                f"Framework {framework.name} is in {framework.deployment_status}; "
                "a previous action on this framework is still running.",
                Context=framework.name,
            )

    def _check_duplicate(
        self, account: str, region: str, controls: list[dict[str, Any]], itself: Framework | None
    ) -> None:
        signature = rules.controls_signature(controls)
        for other in self._in(account, region):
            if other is not itself and rules.controls_signature(other.controls) == signature:
                raise ApiError(
                    "AlreadyExistsException",
                    f"Framework {other.name} already has the same controls and parameters.",
                    Context=other.name,
                    Arn=other.arn,
                    CreatorRequestId=other.idempotency_token or "",
                )

    def _check_quotas(
        self, account: str, region: str, controls: list[dict[str, Any]], itself: Framework | None
    ) -> None:
        frameworks = [f for f in self._in(account, region) if f is not itself]
        if itself is None and len(frameworks) >= self.config["max_frameworks"]:
            raise ApiError(
                "LimitExceededException",
                f"Maximum number of frameworks ({self.config['max_frameworks']}) reached.",
                Context="FrameworkName",
            )
        used = sum(len(f.controls) for f in frameworks)
        if used + len(controls) > self.config["max_controls"]:
            raise ApiError(
                "LimitExceededException",
                f"Maximum number of controls ({self.config['max_controls']}) per account and "
                f"Region would be exceeded ({used} in use, {len(controls)} requested).",
                Context="FrameworkControls",
            )

    def _in(self, account: str, region: str) -> list[Framework]:
        return [f for f in self._frameworks.values() if (f.account, f.region) == (account, region)]

    def _start_deployment(self, framework: Framework, action: str) -> None:
        framework.deployment_status = f"{action}_IN_PROGRESS"
        framework.deploy_until = time.time() + self.config["deploy_seconds"]
        reasons = [] if action == "DELETE" else rules.deployment_problems(framework.controls)
        for forced in self._deployment_failures:
            if forced["name"] in (None, framework.name):
                reasons.append("deployment failure forced by the emulator's control API")
                forced["count"] -= 1
                break
        self._deployment_failures = [f for f in self._deployment_failures if f["count"] > 0]
        framework.failure_reasons = reasons
        framework.outcome = "FAILED" if reasons else "COMPLETED"

    def _settle(self) -> None:
        """Finish every deployment whose time has come (see the module docstring)."""
        now = time.time()
        changed = False
        for key, framework in list(self._frameworks.items()):
            if framework.in_progress and (framework.deploy_until or 0) <= now:
                changed = True
                deleting = framework.deployment_status == "DELETE_IN_PROGRESS"
                if deleting and framework.outcome == "COMPLETED":
                    del self._frameworks[key]
                    continue
                framework.deployment_status = framework.outcome
                framework.deploy_until = None
        if changed:
            self._save()

    # --- seeding --------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        with self.lock:
            return not self._frameworks

    def add_completed(
        self, account: str, region: str, body: dict[str, Any], creation_time: float
    ) -> Framework:
        """Create a framework through the same checks as CreateFramework, already deployed."""
        with self.lock:
            self._create(account, region, body)
            framework = self._frameworks[(account, region, body["FrameworkName"])]
            if framework.outcome != "COMPLETED":
                raise ValueError(f"{framework.name} would fail: {framework.failure_reasons}")
            framework.creation_time = creation_time
            framework.deployment_status = "COMPLETED"
            framework.deploy_until = None
            self._save()
            return framework

    # --- run-time controls ----------------------------------------------------------------------

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
                if injection["operation"] in (None, operation):
                    injection["count"] -= 1
                    if injection["count"] <= 0:
                        self._injections.remove(injection)
                    return dict(injection)
            return None

    def reset_faults(self) -> None:
        """Forget every injected fault that has not been used up yet."""
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

    def reset(self) -> None:
        """Forget everything: frameworks, tokens, faults, calls; configuration back to the start."""
        with self.lock:
            self._frameworks.clear()
            self._tokens.clear()
            self._injections.clear()
            self._deployment_failures.clear()
            self._calls.clear()
            self.config = dict(self._initial_config)
            self.latency = 0.0
            self._save()

    def dump(self) -> dict[str, Any]:
        with self.lock:
            self._settle()
            return {
                "config": dict(self.config),
                "latency": self.latency,
                "frameworks": [asdict(f) for f in self._frameworks.values()],
                "idempotency_tokens": len(self._tokens),
                "injections": [dict(i) for i in self._injections],
                "deployment_failures": [dict(d) for d in self._deployment_failures],
            }

    # --- persistence ----------------------------------------------------------------------------

    def _save(self) -> None:
        """Write the state atomically (temp file + os.replace): a crash never leaves half a file."""
        if self.state_file is None:
            return
        data = {
            "version": 1,
            "frameworks": [asdict(f) for f in self._frameworks.values()],
            "idempotency": [[*key, answer] for key, answer in self._tokens.items()],
        }
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(
            dir=directory, prefix=f".{self.state_file.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
            os.replace(temp, self.state_file)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data.get("frameworks", []):
            framework = Framework(**item)
            self._frameworks[(framework.account, framework.region, framework.name)] = framework
        for account, region, operation, token, answer in data.get("idempotency", []):
            self._tokens[(account, region, operation, token)] = answer
