"""An independent emulator of the AWS Backup Audit Manager *framework* API, for tests and the demo.

It is AWS's side of the wire, written from the AWS documentation and the botocore service model,
and deliberately shares no code with the product (``frameworks/``), so the product's reading of the
API is checked against a second reading. Standard library only at run time.

Run it with ``python -m backup_emulator --port 4566 --seed demo``; use it in tests through
``backup_emulator.testing.running_emulator`` / ``spawned_emulator``; steer it with
``backup_emulator.control.EmulatorControl``.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "1.0"
