"""Set up the local demo: one user per role (two admins), three targets on two emulated accounts.

Passwords are random, made on the first run and kept in DATA_DIR/demo-logins.txt (outside the
repository), so nothing secret is in the code; every run prints them again. The AWS shared files
written here hold the emulator's fake keys (an access key of 12 digits is the account id the
emulator answers for), never real credentials.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from frameworks.models import Role, Target

DEMO_USERS = [
    ("editor", Role.EDITOR),
    ("editor2", Role.EDITOR),
    ("approver", Role.APPROVER),
    ("auditor", Role.AUDITOR),
    ("admin", Role.ADMIN),
    # A second administrator, so that access changes in the demo wait for a second pair of
    # eyes (README, "Four eyes and access changes").
    ("admin2", Role.ADMIN),
]

DEMO_TARGETS = [
    ("prod-eu", "Production (eu-west-1)", "eu-west-1", "demo-prod"),
    ("prod-us", "Production (us-east-1)", "us-east-1", "demo-prod"),
    ("dev-eu", "Development (eu-west-1)", "eu-west-1", "demo-dev"),
]
# Reached as an operator with many accounts would: the demo-prod keys assume the emulator's demo
# role in account 222222222222 (its seed's `roles`), with the external id that role requires.
DEMO_ROLE_TARGETS = [
    (
        "dev-us",
        "Development (us-east-1, by role)",
        "us-east-1",
        "demo-prod",
        "arn:aws:iam::222222222222:role/BackupFrameworksConsole",
        "backup-frameworks-demo",
    ),
]

AWS_CREDENTIALS = """\
# Fake keys for the local emulator only (written by manage.py seed_demo).
[demo-prod]
aws_access_key_id = 111111111111
aws_secret_access_key = emulator-does-not-check
[demo-dev]
aws_access_key_id = 222222222222
aws_secret_access_key = emulator-does-not-check
"""


class Command(BaseCommand):
    help = "Create the demo users and targets (idempotent) and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--aws-dir", default=str(Path(settings.DATA_DIR) / "aws"))

    def handle(self, *args: Any, aws_dir: str, **options: Any) -> None:
        folder = Path(aws_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "credentials").write_text(AWS_CREDENTIALS)
        (folder / "config").write_text("")
        logins = self._users(Path(settings.DATA_DIR) / "demo-logins.txt")
        with transaction.atomic():
            for slug, name, region, profile in DEMO_TARGETS:
                Target.objects.get_or_create(
                    slug=slug,
                    defaults={"display_name": name, "region": region, "profile": profile},
                )
            for slug, name, region, profile, role_arn, external_id in DEMO_ROLE_TARGETS:
                Target.objects.get_or_create(
                    slug=slug,
                    defaults={
                        "display_name": name,
                        "region": region,
                        "profile": profile,
                        "role_arn": role_arn,
                        "external_id": external_id,
                    },
                )
        self.stdout.write("Demo logins (user / password / role):")
        for line in logins:
            self.stdout.write(f"  {line}")

    def _users(self, path: Path) -> list[str]:
        known: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                username, password, _role = line.split(" / ")
                known[username] = password
        lines = []
        with transaction.atomic():
            for username, role in DEMO_USERS:
                password = known.get(username) or secrets.token_urlsafe(9)
                user, created = User.objects.get_or_create(
                    username=username, defaults={"email": f"{username}@example.com"}
                )
                if created or username not in known:
                    user.set_password(password)
                user.is_staff = role == Role.ADMIN
                user.save()
                user.groups.add(Group.objects.get(name=role))
                lines.append(f"{username} / {password} / {role}")
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return lines
