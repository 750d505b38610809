"""Benchmark: validating plus diffing the largest realistic framework against botocore.

Builds a 50-control framework (every parameter set, 100 resource ids on every control that can
name resources, a tag on those that cannot) and a copy with ten changes, then times, in the same
run, (a) parse + validate + diff of the copy and (b) botocore's own ParamValidator on the same
UpdateFramework request, five times. Both sides are warmed up first and their repeats are
interleaved (one of ours, one of botocore's, in turn), so a loaded machine slows both alike.
Prints the median run's figures and every run's ratio; exits 1 if the median ratio exceeds 2.

Run with ``make bench`` or ``.venv/bin/python bench/bench_document.py``.
"""

from __future__ import annotations

import copy
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import botocore.session
from botocore.validate import ParamValidator

from frameworks.document import (
    diff,
    has_errors,
    parse,
    update_kwargs,
    validate,
)
from frameworks.document.catalog import (
    BACKUP_PLAN_TYPE,
    BACKUP_VAULT_TYPE,
    CONTROLS,
    SCOPE_RESOURCE,
)

MAX_RATIO = 2.0
RUNS = 5  # the ratio judged is the median of this many runs
CONTROL_COUNT = 50
IDS_PER_CONTROL = 100
REPEATS = 15
WARM_UP = 3  # untimed rounds of each side first

VALUES = {
    "requiredFrequencyUnit": "hours",
    "requiredFrequencyValue": "12",
    "requiredRetentionDays": "35",
    "principalArnList": ",".join(
        f"arn:aws:iam::111122223333:role/BackupAdmin{n}" for n in range(5)
    ),
    "crossRegionList": "eu-west-2,eu-central-1,us-east-1",
    "crossAccountList": "111122223333,444455556666,777788889999",
    "minRetentionDays": "7",
    "maxRetentionDays": "365",
    "recoveryPointAgeUnit": "hours",
    "recoveryPointAgeValue": "24",
    "maxRestoreTime": "720",
}


def _scope(name: str, number: int) -> dict[str, Any]:
    spec = CONTROLS[name]
    if SCOPE_RESOURCE not in spec.scope_kinds:
        return {"Tags": {"Environment": f"prod-{number}"}}
    if spec.resource_scope_types == (BACKUP_VAULT_TYPE,):
        kind, ids = BACKUP_VAULT_TYPE, [f"vault-{number}-{n}" for n in range(IDS_PER_CONTROL)]
    elif name == "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK":
        kind, ids = BACKUP_PLAN_TYPE, [f"plan-{number}-{n:032x}" for n in range(IDS_PER_CONTROL)]
    else:
        kind, ids = "EBS", [f"vol-{number:04x}{n:013x}" for n in range(IDS_PER_CONTROL)]
    return {"ComplianceResourceTypes": [kind], "ComplianceResourceIds": ids}


def build_document() -> dict[str, Any]:
    names = list(CONTROLS)
    controls = []
    for number in range(CONTROL_COUNT):
        name = names[number % len(names)]
        controls.append(
            {
                "ControlName": name,
                "ControlInputParameters": [
                    {"ParameterName": p, "ParameterValue": VALUES[p]}
                    for p in CONTROLS[name].parameters
                ],
                "ControlScope": _scope(name, number),
            }
        )
    return {
        "FrameworkName": "largest_realistic_framework",
        "FrameworkDescription": "Fifty controls, each with its parameters and 100 resources",
        "FrameworkControls": controls,
    }


def ten_changes(data: dict[str, Any]) -> dict[str, Any]:
    """Four parameter values, two scopes, two controls removed and two added."""
    changed = copy.deepcopy(data)
    controls = changed["FrameworkControls"]
    with_parameters = [c for c in controls if c.get("ControlInputParameters")]
    for control in with_parameters[:4]:
        parameter = control["ControlInputParameters"][-1]
        if parameter["ParameterName"] == "requiredRetentionDays":
            parameter["ParameterValue"] = "90"
        elif parameter["ParameterName"] == "recoveryPointAgeValue":
            parameter["ParameterValue"] = "48"
        else:
            parameter["ParameterValue"] = parameter["ParameterValue"].replace("1", "2", 1)
    controls[0]["ControlScope"]["ComplianceResourceIds"][5] = "vol-replaced"
    controls[3]["ControlScope"] = {"Tags": {"Environment": "staging"}}
    del controls[10:12]
    for source, scope in ((13, {"Tags": {"Environment": "new"}}), (14, {"Tags": {"Team": "a"}})):
        added = copy.deepcopy(data["FrameworkControls"][source])
        if "ComplianceResourceIds" in added["ControlScope"]:
            added["ControlScope"]["ComplianceResourceIds"] = [f"new-vault-{n}" for n in range(100)]
        else:
            added["ControlScope"] = scope
        controls.append(added)
    return changed


def main() -> int:
    base_data = build_document()
    proposed_data = ten_changes(base_data)
    base = parse(base_data)

    def ours() -> None:
        proposed = parse(proposed_data)
        validate(proposed)
        diff(base, proposed)

    proposed = parse(proposed_data)
    findings = validate(proposed)
    changes = diff(base, proposed)
    assert not has_errors(findings), [str(f) for f in findings if f.severity == "error"]
    params = update_kwargs(proposed, "largest_realistic_framework")
    shape = (
        botocore.session.get_session()
        .get_service_model("backup")
        .operation_model("UpdateFramework")
        .input_shape
    )
    validator = ParamValidator()
    report = validator.validate(params, shape)
    assert not report.has_errors(), report.generate_report()

    def botocores() -> None:
        validator.validate(params, shape)

    number = 20
    ours_timer, boto_timer = timeit.Timer(ours), timeit.Timer(botocores)
    for _ in range(WARM_UP):  # both sides warm (caches, allocator) before anything counts
        ours_timer.timeit(number)
        boto_timer.timeit(number)
    runs = []
    for _ in range(RUNS):
        # Interleaved, one repeat of each side in turn, so that the load of a shared machine
        # falls on both sides alike rather than on whichever block of repeats it hit.
        ours_times, boto_times = [], []
        for _ in range(REPEATS):
            ours_times.append(ours_timer.timeit(number))
            boto_times.append(boto_timer.timeit(number))
        ours_ms = statistics.median(ours_times) / number * 1000
        boto_ms = statistics.median(boto_times) / number * 1000
        runs.append((ours_ms / boto_ms, ours_ms, boto_ms))
    ratio, ours_ms, boto_ms = sorted(runs)[RUNS // 2]
    ids = sum(len((c.scope and c.scope.resource_ids) or []) for c in proposed.controls)
    print(
        f"document: {len(proposed.controls)} controls, {ids} resource ids, {len(changes)} changes"
    )
    print(f"parse + validate + diff : {ours_ms:8.3f} ms (median of {REPEATS})")
    print(f"botocore ParamValidator : {boto_ms:8.3f} ms (median of {REPEATS})")
    print(f"ratios of the {RUNS} runs   : " + ", ".join(f"{r:.3f}" for r, _, _ in runs))
    failed = ratio > MAX_RATIO
    verdict = "FAILED: validate + diff / botocore" if failed else "ok"
    print(f"ratio (median run)      : {ratio:8.3f} (bound {MAX_RATIO:.3f}) {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
