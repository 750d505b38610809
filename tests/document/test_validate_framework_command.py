"""``manage.py validate_framework``: one line per finding, exit 1 on any error."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from frameworks.management.commands.validate_framework import validate_files

from .builders import ENCRYPTED, PROTECTED, control, framework

ROOT = Path(__file__).resolve().parents[2]

VALID = framework(control(ENCRYPTED))
WARNED = framework(control(PROTECTED, {"ComplianceResourceTypes": ["S3"], "Tags": {"a": "b"}}))
INVALID = framework(control(ENCRYPTED, resourceType="ALL"), FrameworkName="enterprise-audit")


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def run(names: list[str], stdin: str = "") -> tuple[bool, list[str]]:
    lines: list[str] = []
    ok = validate_files(names, write=lines.append, stdin=io.StringIO(stdin))
    return ok, lines


def test_a_valid_file_passes(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.json", VALID)
    assert run([path]) == (True, [f"{path}: no problems found"])


def test_warnings_are_printed_but_do_not_fail(tmp_path: Path) -> None:
    path = write(tmp_path, "warned.json", WARNED)
    ok, lines = run([path])
    assert ok
    assert lines == [
        f"{path}: controls[0].scope: warning: combines resource types with a tag: AWS does not "
        "document this, though it is deployed in production [scope.types_and_tag]"
    ]


def test_each_error_is_a_line_with_path_severity_message_and_code(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", INVALID)
    ok, lines = run([path])
    assert not ok
    assert lines == [
        f"{path}: name: error: must start with a letter and contain only letters, digits and "
        "underscores (no hyphens or spaces) [name.pattern]",
        f"{path}: controls[0].parameters.resourceType: error: resourceType is not a parameter "
        f"of {ENCRYPTED}, which takes none [parameter.unknown]",
    ]


def test_standard_input_is_read_for_a_dash() -> None:
    ok, lines = run(["-"], stdin=json.dumps(INVALID))
    assert not ok
    assert all(line.startswith("<stdin>: ") for line in lines)
    assert run(["-"], stdin=json.dumps(VALID)) == (True, ["<stdin>: no problems found"])


def test_bad_json_is_named_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{"FrameworkName": "a",\n  // comment\n}')
    ok, lines = run([path])
    assert not ok
    assert lines == [
        f"{path}: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 2, column 3"
    ]


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    ok, lines = run([missing])
    assert not ok
    assert lines[0].startswith(f"{missing}: cannot read the file: [Errno 2]")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    ok, lines = run([str(binary)])
    assert not ok
    assert lines[0].startswith(f"{binary}: cannot read the file:")


@pytest.mark.parametrize("data", ["[]", "null", '"text"', "3"])
def test_json_that_is_not_an_object_is_an_error(tmp_path: Path, data: str) -> None:
    path = write(tmp_path, "odd.json", data)
    ok, lines = run([path])
    assert not ok
    assert (
        lines[0].startswith(f"{path}: error: must be a JSON object")
        and "[document.type]" in lines[0]
    )


def test_a_cloudformation_resource_is_read(tmp_path: Path) -> None:
    resource = {
        "Type": "AWS::Backup::Framework",
        "Properties": {"FrameworkControls": [control(ENCRYPTED)]},
    }
    path = write(tmp_path, "template.json", resource)
    assert run([path]) == (True, [f"{path}: no problems found"])


def test_one_bad_file_fails_the_run_but_every_file_is_checked(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", VALID)
    bad = write(tmp_path, "bad.json", INVALID)
    ok, lines = run([bad, good])
    assert not ok
    assert lines[-1] == f"{good}: no problems found"


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(VALID).encode())
    assert run([str(path)])[0]


# --- through Django's command machinery -----------------------------------------------------


def test_the_command_exits_0_when_there_are_no_errors(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("validate_framework", write(tmp_path, "ok.json", WARNED), stdout=out)
    assert "[scope.types_and_tag]" in out.getvalue()


def test_the_command_exits_1_on_an_error(tmp_path: Path) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("validate_framework", write(tmp_path, "bad.json", INVALID), stdout=out)
    assert raised.value.returncode == 1
    assert "[name.pattern]" in out.getvalue()


def test_the_command_reads_stdin_and_can_require_a_name() -> None:
    nameless = json.dumps({"FrameworkControls": [control(ENCRYPTED)]})
    out = io.StringIO()
    call_command("validate_framework", "-", stdin=io.StringIO(nameless), stdout=out)
    assert out.getvalue() == "<stdin>: no problems found\n"
    with pytest.raises(CommandError):
        call_command("validate_framework", "-", "--create", stdin=io.StringIO(nameless), stdout=out)
    assert "name: error: a name is needed to create a framework [name.required]" in out.getvalue()


def test_manage_py_exit_codes(tmp_path: Path) -> None:
    env = {**os.environ, "DEBUG": "1"}
    good = subprocess.run(
        [sys.executable, "manage.py", "validate_framework", write(tmp_path, "ok.json", VALID)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    bad = subprocess.run(
        [sys.executable, "manage.py", "validate_framework", "-"],
        cwd=ROOT,
        env=env,
        input="{not json",
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout.startswith("<stdin>: not valid JSON")
