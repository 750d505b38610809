from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frameworks import services
from frameworks.models import Target

UNREACHABLE = {"ConnectionError", "ConnectTimeout"}


class Command(BaseCommand):
    help = "Read every framework of every target (or the named ones) from AWS into the mirror."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target", action="append", dest="targets", metavar="SLUG", help="repeatable"
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="keep retrying targets whose endpoint cannot be reached yet (start-up ordering)",
        )

    def handle(self, *args: Any, targets: list[str] | None, wait: float, **options: Any) -> None:
        if targets:
            known = set(Target.objects.filter(slug__in=targets).values_list("slug", flat=True))
            unknown = sorted(set(targets) - known)
            if unknown:
                raise CommandError(f"No such target: {', '.join(unknown)}")
        deadline = time.monotonic() + wait
        results = services.sync_all(target_slugs=targets)
        while time.monotonic() < deadline:
            retry = [r.target for r in results if r.error and r.error.code in UNREACHABLE]
            if not retry:
                break
            time.sleep(0.5)
            again = {r.target: r for r in services.sync_all(target_slugs=retry)}
            results = [again.get(r.target, r) for r in results]
        failed = 0
        for result in results:
            style = self.style.ERROR if result.error else self.style.SUCCESS
            failed += bool(result.error)
            self.stdout.write(style(str(result)))
        if failed:
            raise CommandError(f"{failed} target(s) failed to sync")
