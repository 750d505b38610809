"""Write an evidence pack for a period to standard output."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frameworks import evidence, services
from frameworks.history import Actor
from frameworks.models import Target
from frameworks.queries.audit import Scope


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date like 2026-03-31") from None


class Command(BaseCommand):
    help = "Write the evidence pack (a ZIP) for a period and targets to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="until", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument(
            "--target", action="append", default=[], help="a target's slug (repeat; default all)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = _date(options["since"]), _date(options["until"])
        if since > until:
            raise CommandError("--to is before --from")
        targets = list(Target.objects.order_by("display_name"))
        if options["target"]:
            unknown = set(options["target"]) - {t.slug for t in targets}
            if unknown:
                raise CommandError(f"no target {', '.join(sorted(unknown))}")
            targets = [t for t in targets if t.slug in options["target"]]
        if sys.stdout.isatty():
            raise CommandError("the pack is a ZIP: redirect it to a file (> pack.zip)")
        record = services.history_record_export(
            user=None,
            actor=Actor.system("manage.py evidence_pack"),
            what="evidence-pack",
            filters={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "targets": [t.slug for t in targets],
            },
        )
        try:
            pack = evidence.build(
                scope=Scope(targets=list(Target.objects.all()), every_target=True, untargeted=True),
                targets=targets,
                since=since,
                until=until,
                below=record.id,
            )
        except evidence.PackRefused as exc:
            raise CommandError(str(exc)) from None
        out = sys.stdout.buffer
        for block in evidence.stream(pack):
            out.write(block)
        out.flush()
