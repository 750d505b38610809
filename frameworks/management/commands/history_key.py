"""Print the history's public key (and its key id), or make a new signing key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frameworks import checkpoints


class Command(BaseCommand):
    help = (
        "Print the public key that checks the history's signed checkpoints and evidence packs, "
        "with its key id; --generate FILE writes a new Ed25519 private key (mode 600)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--generate", metavar="FILE", help="write a new private key here")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate"]:
            path = Path(options["generate"])
            if path.exists():
                raise CommandError(f"{path} exists; refusing to overwrite a signing key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(checkpoints.generate_private_key_pem())
            self.stderr.write(f"Wrote a new signing key to {path}; set HISTORY_SIGNING_KEY_FILE.")
            return
        key = checkpoints.verifying_key()
        if key is None:
            raise CommandError(
                "No key configured: set HISTORY_SIGNING_KEY_FILE (make one with --generate FILE)"
            )
        self.stdout.write(checkpoints.public_key_pem(key), ending="")
        self.stdout.write(f"key id: {checkpoints.key_id(key)}")
