"""``State``: the model of AWS behind the API (see the package docstring)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from .. import identity, recording, rules, tagging
from ..identity import Principal, Role, Session
from ..recording import Recording
from ..rules import ApiError
from .controls import RunTimeControls
from .framework import Framework


class State(RunTimeControls):
    """All of the emulator's state; every public method takes the lock."""

    def __init__(
        self,
        *,
        deploy_seconds: float = 2.0,
        max_frameworks: int = 15,
        max_controls: int = 50,
        state_file: str | os.PathLike[str] | None = None,
        roles: list[Role] | None = None,
        recordings: dict[tuple[str, str], Recording] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self._initial_config = {
            "deploy_seconds": float(deploy_seconds),
            "max_frameworks": int(max_frameworks),
            "max_controls": int(max_controls),
        }
        self.config = dict(self._initial_config)
        self._initial_roles = {(r.account, r.name): r for r in roles or []}
        self._initial_recordings = dict(recordings or {})
        self.roles = dict(self._initial_roles)
        self.recordings = dict(self._initial_recordings)
        self.sessions: dict[str, Session] = {}
        self.clock_offset = 0.0
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

    def resolve(self, access_key: str, session_token: str | None) -> Principal:
        """Who signed a request with this key (see ``identity.resolve``)."""
        with self.lock:
            return identity.resolve(access_key, session_token, self.sessions, self.now())

    def assume_role(self, caller: Principal, params: dict[str, str]) -> Session:
        with self.lock:
            session = identity.assume_role(caller, params, self.roles, self.now())
            self.sessions[session.access_key] = session
            self._save()
            return session

    def framework_name_of(self, arn: str) -> str | None:
        """The name of the framework with this ARN (for the call log), if there is one."""
        with self.lock:
            for framework in self._frameworks.values():
                if framework.arn == arn:
                    return framework.name
            return None

    def recording_of(self, account: str, region: str) -> Recording:
        with self.lock:
            return self.recordings.get((account, region), Recording())

    def execute(
        self,
        operation: str,
        account: str,
        region: str,
        params: dict[str, Any],
        caller: Principal | None = None,
    ) -> tuple[dict[str, Any] | None, bool]:
        """Run one Backup operation; return (answer body or None, whether state changed).

        ``caller`` is who signed (for the tag operations' AccessDenied); without it, the
        long-term identity of ``account``."""
        with self.lock:
            self._settle()
            if operation in tagging.OPERATIONS:
                principal = caller or identity.long_term_principal(account)
                return self._tags(operation, principal, region, params)
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
                framework = self._get(account, region, params.get("FrameworkName"))
                return framework.describe(self._framework_status(framework)), False
            elif operation == "ListFrameworks":
                return self._list(account, region, params), False
            else:
                raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
            if operation != "DeleteFramework" and isinstance(token, str):
                self._tokens[(account, region, operation, token)] = dict(answer)
            self._settle()
            self._save()
            return (answer or None), True

    def _tags(
        self, operation: str, caller: Principal, region: str, params: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        framework = tagging.find(
            operation, caller, region, params.get("ResourceArn"), list(self._frameworks.values())
        )
        if operation == "ListTags":
            return tagging.list_tags(framework, params), False
        changed = (tagging.tag if operation == "TagResource" else tagging.untag)(framework, params)
        if changed:
            self._save()
        return None, changed

    def _framework_status(self, framework: Framework) -> str:
        governed = rules.governed_resource_types(framework.controls)
        return recording.framework_status(
            self.recording_of(framework.account, framework.region), governed
        )

    def _get(self, account: str, region: str, name: Any) -> Framework:
        rules.validate_name(name)
        framework = self._frameworks.get((account, region, name))
        if framework is None:
            raise ApiError(
                "ResourceNotFoundException", f"Framework {name} does not exist.", Context=name
            )
        return framework

    def _create(
        self, account: str, region: str, body: dict[str, Any], *, check_recording: bool = True
    ) -> dict[str, Any]:
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
        self._check_duplicate(account, region, name, controls, None)
        self._check_quotas(account, region, controls, None)
        framework = Framework(
            account=account,
            region=region,
            name=name,
            arn=f"arn:aws:backup:{region}:{account}:framework:{name}-{uuid.uuid4()}",
            description=body.get("FrameworkDescription") or "",
            controls=json.loads(json.dumps(controls)),
            tags=dict(body.get("FrameworkTags") or {}),
            creation_time=round(self.now(), 3),
            deployment_status="",
            idempotency_token=body.get("IdempotencyToken"),
        )
        self._frameworks[(account, region, name)] = framework
        self._start_deployment(framework, "CREATE", check_recording=check_recording)
        return {"FrameworkName": name, "FrameworkArn": framework.arn}

    def _update(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        framework = self._get(account, region, body.get("FrameworkName"))
        rules.validate_framework_input(body, creating=False)
        self._check_not_busy(framework)
        controls = body["FrameworkControls"]
        self._check_duplicate(account, region, framework.name, controls, framework)
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
        self,
        account: str,
        region: str,
        name: str,
        controls: list[dict[str, Any]],
        itself: Framework | None,
    ) -> None:
        signature = rules.controls_signature(controls)
        for other in self._in(account, region):
            if other is not itself and rules.controls_signature(other.controls) == signature:
                raise ApiError(
                    "AlreadyExistsException",
                    f"Controls in framework {name} from account {account} already exist.",
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

    def _start_deployment(
        self, framework: Framework, action: str, *, check_recording: bool = True
    ) -> None:
        framework.deployment_status = f"{action}_IN_PROGRESS"
        framework.deploy_until = self.now() + self.config["deploy_seconds"]
        reasons = [] if action == "DELETE" else rules.deployment_problems(framework.controls)
        inactive = self._framework_status(framework) == recording.INACTIVE
        if action != "DELETE" and check_recording and inactive:
            reasons.append(
                "AWS Config records none of the resource types the controls evaluate "
                f"({', '.join(sorted(rules.governed_resource_types(framework.controls)))}), "
                "so no control can evaluate"
            )
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
        now = self.now()
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
        """Create a framework through the same checks as CreateFramework, already deployed.

        Recording is not checked: a seeded framework was deployed in the past, perhaps before
        recording was turned off, so it can be COMPLETED and INACTIVE."""
        with self.lock:
            self._create(account, region, body, check_recording=False)
            framework = self._frameworks[(account, region, body["FrameworkName"])]
            if framework.outcome != "COMPLETED":
                raise ValueError(f"{framework.name} would fail: {framework.failure_reasons}")
            framework.creation_time = creation_time
            framework.deployment_status = "COMPLETED"
            framework.deploy_until = None
            self._save()
            return framework

    def reset(self) -> None:
        """Forget frameworks, tokens, STS sessions, faults, calls and the clock offset;
        configuration, roles and recording back to their start values."""
        with self.lock:
            self._frameworks.clear()
            self._tokens.clear()
            self._injections.clear()
            self._deployment_failures.clear()
            self._calls.clear()
            self.config = dict(self._initial_config)
            self.roles = dict(self._initial_roles)
            self.recordings = dict(self._initial_recordings)
            self.sessions.clear()
            self.clock_offset = 0.0
            self.latency = 0.0
            self._save()

    def dump(self) -> dict[str, Any]:
        with self.lock:
            self._settle()
            return {
                "config": dict(self.config),
                "latency": self.latency,
                "frameworks": [
                    {**asdict(f), "framework_status": self._framework_status(f)}
                    for f in self._frameworks.values()
                ],
                "idempotency_tokens": len(self._tokens),
                "roles": self.list_roles(),
                "recording": self.list_recordings(),
                "sessions": self.sessions_dump(),
                "clock_offset": self.clock_offset,
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
            "sessions": [asdict(s) for s in self.sessions.values()],
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
        known = {f.name for f in fields(Framework)}
        for item in data.get("frameworks", []):
            # Files written before FrameworkStatus was computed carry a stored one: ignore it.
            framework = Framework(**{k: v for k, v in item.items() if k in known})
            self._frameworks[(framework.account, framework.region, framework.name)] = framework
        for account, region, operation, token, answer in data.get("idempotency", []):
            self._tokens[(account, region, operation, token)] = answer
        for item in data.get("sessions", []):
            session = Session(**item)
            self.sessions[session.access_key] = session
