"""Walk the history's hash chain and name the first row that was edited, removed or inserted;
check that every write request the history records is what its approvals approved; with
--checkpoints, also prove the chain up to each signed checkpoint unchanged."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frameworks import approvals, checkpoints, history


class Command(BaseCommand):
    help = (
        "Check that no history row was edited, removed or inserted since it was appended "
        "(and no document version edited), and that each request the worker sent is what its "
        "approvals (hash and MAC) approved. With --checkpoints FILE (signed checkpoint lines, "
        "or - for standard input), also check the chain still holds every checkpoint, so a "
        "consistent rewrite of the tail or a truncation is caught. Exits 1 naming the first "
        "problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoints", metavar="FILE")
        parser.add_argument(
            "--public-key",
            metavar="PEM",
            help="the public key file (default: HISTORY_PUBLIC_KEY_FILE or the signing key's)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, problem = history.verify()
        if problem:
            raise CommandError(f"History check failed after {count} good rows: {problem.message}.")
        unapproved = approvals.request_problems()
        for sentence in unapproved:
            self.stderr.write(sentence)
        if unapproved:
            raise CommandError(
                f"History check failed: {len(unapproved)} request(s) sent to AWS are not what "
                f"was approved; the first: {unapproved[0]}"
            )
        if not options["checkpoints"]:
            self.stdout.write(
                f"History intact: {count} rows, every hash and link checks out, and every "
                "request sent matches its approvals."
            )
            return
        try:
            key = (
                checkpoints.load_public_key(Path(options["public_key"]).read_text())
                if options["public_key"]
                else checkpoints.verifying_key()
            )
        except (OSError, checkpoints.CheckpointError) as exc:
            raise CommandError(f"The public key cannot be read: {exc}") from None
        if key is None:
            raise CommandError("No public key: pass --public-key or set HISTORY_PUBLIC_KEY_FILE.")
        try:
            source = options["checkpoints"]
            lines = (
                sys.stdin.readlines() if source == "-" else Path(source).read_text().splitlines()
            )
        except OSError as exc:
            raise CommandError(f"{options['checkpoints']} cannot be read: {exc.strerror}") from None
        trusted, findings = checkpoints.read_lines(lines, key)
        findings += checkpoints.check_chain(trusted)
        for finding in findings:
            self.stderr.write(finding.message)
        if findings:
            raise CommandError(
                f"History check failed: {findings[-1].message}."
                if findings[-1].kind != "untrusted"
                else f"History check failed: {len(findings)} checkpoint(s) not trusted."
            )
        newest = max(trusted, key=lambda c: c.row_id, default=None)
        through = (
            f", up to row {newest.row_id} as signed at {newest.at:%Y-%m-%d %H:%M:%S}"
            if newest
            else ""
        )
        self.stdout.write(
            f"History intact: {count} rows, every hash and link checks out, and "
            f"{len(trusted)} signed checkpoint(s) hold{through}."
        )
