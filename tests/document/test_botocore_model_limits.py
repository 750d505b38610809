"""The validator reads the API's limits from botocore's model, so a new model brings new limits.

Each test copies the installed ``backup`` model into a folder laid out like botocore's data
path, changes a limit, and points ``AWS_DATA_PATH`` at it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest

from frameworks.document import default_limits, load_limits, parse, validate, validate_data

from .builders import ENCRYPTED, PROTECTED, control, framework

ROOT = Path(__file__).resolve().parents[2]
API_VERSION = "2018-11-15"


def _installed_model() -> dict[str, Any]:
    folder = Path(botocore.__file__).parent / "data" / "backup" / API_VERSION
    plain = folder / "service-2.json"
    if plain.exists():
        return json.loads(plain.read_text())
    with gzip.open(folder / "service-2.json.gz") as handle:
        return json.loads(handle.read())


@pytest.fixture
def modified_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """Write a changed copy of the model and point AWS_DATA_PATH at it."""

    def write(change: Callable[[dict[str, Any]], None]) -> Path:
        model = _installed_model()
        change(model["shapes"])
        folder = tmp_path / "backup" / API_VERSION
        folder.mkdir(parents=True)
        (folder / "service-2.json").write_text(json.dumps(model))
        monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
        return tmp_path

    return write


def test_the_default_limits_are_those_of_the_installed_model() -> None:
    limits = default_limits()
    assert (limits.name.min, limits.name.max, limits.name.pattern_text) == (
        1,
        256,
        "[a-zA-Z][_a-zA-Z0-9]*",
    )
    assert (limits.description.max, limits.description.pattern_text) == (1024, ".*\\S.*")
    assert (limits.resource_ids.min, limits.resource_ids.max) == (1, 100)
    assert limits.source.startswith(f"botocore {botocore.__version__}")
    assert default_limits() is limits  # read once per process


def test_documented_limits_fill_in_where_the_model_is_silent() -> None:
    limits = default_limits()
    assert (limits.controls.min, limits.controls.max) == (1, None)
    assert (limits.control_name.min, limits.control_name.max) == (1, 256)
    assert limits.scope_tags.max == 1


def test_a_shorter_name_limit_in_the_model_is_followed(modified_model: Any) -> None:
    modified_model(lambda shapes: shapes["FrameworkName"].update(max=10))
    limits = load_limits(botocore.session.Session())
    assert limits.name.max == 10
    doc = parse(framework(control(ENCRYPTED), FrameworkName="a" * 11))
    (finding,) = validate(doc, limits=limits)
    assert (finding.path, finding.code, finding.message) == (
        "name",
        "name.too_long",
        "must be at most 10 characters; it has 11",
    )
    assert validate(doc) == []  # the installed model still allows 256


def test_a_larger_id_limit_in_the_model_is_followed(modified_model: Any) -> None:
    modified_model(lambda shapes: shapes["ComplianceResourceIdList"].update(max=150))
    limits = load_limits(botocore.session.Session())
    scope = {
        "ComplianceResourceTypes": ["EBS"],
        "ComplianceResourceIds": [f"v{n}" for n in range(120)],
    }
    doc = parse(framework(control(PROTECTED, scope)))
    assert validate(doc, limits=limits) == []
    assert [f.code for f in validate(doc)] == ["scope.resource_ids.too_many"]


def test_a_new_pattern_in_the_model_is_followed_and_quoted(modified_model: Any) -> None:
    modified_model(lambda shapes: shapes["FrameworkDescription"].update(pattern="[a-z ]*"))
    limits = load_limits(botocore.session.Session())
    findings = validate_data(
        framework(control(ENCRYPTED), FrameworkDescription="Hello"), limits=limits
    )
    assert [(f.path, f.code, f.message) for f in findings] == [
        ("description", "description.pattern", "must match the pattern [a-z ]*")
    ]


def test_a_limit_the_model_newly_states_replaces_the_documented_one(modified_model: Any) -> None:
    def change(shapes: dict[str, Any]) -> None:
        shapes["FrameworkControls"].update(min=1, max=3)
        shapes["ControlName"].update(max=40)

    modified_model(change)
    limits = load_limits(botocore.session.Session())
    data = framework(*[control(ENCRYPTED, {"Tags": {"n": str(n)}}) for n in range(4)])
    assert [
        (f.path, f.code) for f in validate_data(data, limits=limits) if f.severity == "error"
    ] == [("controls", "controls.too_many")]
    assert [f.code for f in validate_data(framework(control("X" * 41)), limits=limits)] == [
        "control.name.too_long"
    ]


def test_a_pattern_python_cannot_read_is_skipped(modified_model: Any) -> None:
    modified_model(lambda shapes: shapes["FrameworkName"].update(pattern="[a-z"))
    limits = load_limits(botocore.session.Session())
    assert limits.name.pattern is None
    assert (
        validate_data(framework(control(ENCRYPTED), FrameworkName="Any-Thing"), limits=limits) == []
    )


def test_a_fresh_process_reads_the_model_from_aws_data_path(modified_model: Any) -> None:
    data_path = modified_model(lambda shapes: shapes["FrameworkName"].update(max=5))
    script = (
        "import json, sys\n"
        "from frameworks.document import validate_data\n"
        "doc = {'FrameworkName': 'abcdef', 'FrameworkControls': [{'ControlName': "
        f"'{ENCRYPTED}'}}]}}\n"
        "print(json.dumps([f.code for f in validate_data(doc)]))\n"
    )
    env = {**os.environ, "AWS_DATA_PATH": str(data_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(result.stdout) == ["name.too_long"]
    env.pop("AWS_DATA_PATH")
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(result.stdout) == []


def test_the_cached_default_can_be_reloaded(
    modified_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = default_limits()
    modified_model(lambda shapes: shapes["FrameworkName"].update(max=7))
    assert default_limits() is before  # cached: the new model is not read yet
    default_limits.cache_clear()
    try:
        assert default_limits().name.max == 7
    finally:
        # Leave the installed model's limits cached for the tests that follow.
        monkeypatch.delenv("AWS_DATA_PATH")
        default_limits.cache_clear()
    assert default_limits().name.max == 256
