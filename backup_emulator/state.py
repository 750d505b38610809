"""The emulator's model of AWS: one object, one lock, optionally saved to a file.

Everything the HTTP layer or a test can change lives here (frameworks and their tags, remembered
idempotency tokens, IAM roles and STS sessions, AWS Config recording, injected faults, the call
log, the configuration, the clock), behind a single ``threading.RLock`` so concurrent requests see
AWS-like serial behaviour.

The clock is ``time.time()`` plus an offset that ``advance_clock`` moves forward, so a test can
expire STS credentials or finish deployments without sleeping.

Configuration (``configure``), roles and recording have start values (the constructor's, plus
what ``--seed demo`` sets through ``set_defaults``); ``reset()`` returns to them. The state file
keeps frameworks, tokens and the issued STS sessions, so credentials a client holds survive a
restart; roles and recording come from the command line and the seed each start.

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
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from . import identity, recording, rules, tagging
from .identity import Principal, Role, Session
from .recording import Recording
from .rules import ApiError

MAX_CALLS = 10_000
FRAMEWORK_OPERATIONS = (
    "CreateFramework",
    "UpdateFramework",
    "DescribeFramework",
    "ListFrameworks",
    "DeleteFramework",
)
BACKUP_OPERATIONS = FRAMEWORK_OPERATIONS + tagging.OPERATIONS
STS_OPERATIONS = ("AssumeRole", "GetCallerIdentity")
CONFIG_OPERATIONS = ("DescribeConfigurationRecorders", "DescribeConfigurationRecorderStatus")
# Faults injected for "any operation" hit Backup calls only: a client's credential refresh or a
# Config read should not use up a fault a test meant for UpdateFramework.
OPERATIONS = BACKUP_OPERATIONS + STS_OPERATIONS + CONFIG_OPERATIONS


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


class State:
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

    def now(self) -> float:
        """The emulator's clock: wall-clock time plus whatever ``advance_clock`` added."""
        return time.time() + self.clock_offset

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
