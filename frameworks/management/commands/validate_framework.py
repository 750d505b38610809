"""``manage.py validate_framework FILE...``: every problem in framework JSON files, in words.

Reads the API form (as ``aws backup describe-framework`` prints it or ``--cli-input-json``
takes it) or the CloudFormation form (a resource or its Properties); ``-`` reads standard
input. Prints ``FILE: path: severity: message [code]`` per finding and exits 1 when any file
has an error or cannot be read, 0 otherwise (warnings do not fail).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frameworks.document import has_errors, validate_data


def _read(name: str, stdin: TextIO) -> str:
    if name == "-":
        return stdin.read()
    with open(name, encoding="utf-8-sig") as handle:
        return handle.read()


def validate_files(
    names: Iterable[str],
    *,
    write: Callable[[str], None],
    stdin: TextIO | None = None,
    require_name: bool = False,
) -> bool:
    """Validate each file, writing one line per finding; True when none had an error."""
    ok = True
    for name in names:
        label = "<stdin>" if name == "-" else name
        try:
            text = _read(name, stdin or sys.stdin)
        except (OSError, UnicodeDecodeError) as error:
            write(f"{label}: cannot read the file: {error}")
            ok = False
            continue
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as error:
            write(
                f"{label}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            )
            ok = False
            continue
        findings = validate_data(data, require_name=require_name)
        for finding in findings:
            write(f"{label}: {finding}")
        if not findings:
            write(f"{label}: no problems found")
        ok = ok and not has_errors(findings)
    return ok


class Command(BaseCommand):
    # Tests pass stdin=io.StringIO(...) to call_command, as for createsuperuser.
    stealth_options = ("stdin",)
    help = (
        "Check framework JSON files (API or CloudFormation form; '-' reads standard input) "
        "against the API's limits and the control catalogue. Exits 1 on any error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--create",
            action="store_true",
            help="the document will create a framework, so it needs a FrameworkName",
        )

    def handle(self, *args: Any, files: list[str], create: bool, **options: Any) -> None:
        ok = validate_files(
            files, write=self.stdout.write, stdin=options.get("stdin"), require_name=create
        )
        if not ok:
            raise CommandError("the framework documents have errors", returncode=1)
