"""An independent emulator of the AWS Backup Audit Manager *framework* API, for tests and the demo,
with the pieces of STS and AWS Config a console needs around it.

It is AWS's side of the wire, written from the AWS documentation and the botocore service models,
and deliberately shares no code with the product (``frameworks/``), so the product's reading of the
API is checked against a second reading. Standard library only at run time.

On one port: AWS Backup's framework and tag operations (REST-JSON), STS AssumeRole and
GetCallerIdentity (Query/XML; temporary credentials act in the role's account and expire on a clock
tests can move), and AWS Config's DescribeConfigurationRecorders(Status) (JSON 1.1), whose
recording decides each framework's FrameworkStatus. ``README.md`` beside this file is the guide.

Run it with ``python -m backup_emulator --port 4566 --seed demo``; use it in tests through
``backup_emulator.testing.running_emulator`` / ``spawned_emulator``; steer it with
``backup_emulator.control.EmulatorControl``.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "1.0"
