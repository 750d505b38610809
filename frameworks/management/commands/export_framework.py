from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frameworks import document
from frameworks.models import Framework


class Command(BaseCommand):
    help = (
        "Print a framework's mirrored document as JSON that "
        "`aws backup update-framework --cli-input-json` accepts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="the target's slug")
        parser.add_argument("name", help="the framework's name")

    def handle(self, *args: Any, target: str, name: str, **options: Any) -> None:
        framework = Framework.objects.filter(target__slug=target, name=name).first()
        if framework is None:
            raise CommandError(f"No framework {name!r} in target {target!r} (sync first?)")
        doc = document.parse(framework.api_document())
        self.stdout.write(json.dumps(document.update_kwargs(doc, framework.name), indent=2))
