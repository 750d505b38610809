"""The names of the operations the emulator answers, by service."""

from __future__ import annotations

from ..tagging import OPERATIONS as TAG_OPERATIONS

FRAMEWORK_OPERATIONS = (
    "CreateFramework",
    "UpdateFramework",
    "DescribeFramework",
    "ListFrameworks",
    "DeleteFramework",
)
BACKUP_OPERATIONS = FRAMEWORK_OPERATIONS + TAG_OPERATIONS
STS_OPERATIONS = ("AssumeRole", "GetCallerIdentity")
CONFIG_OPERATIONS = ("DescribeConfigurationRecorders", "DescribeConfigurationRecorderStatus")
# Faults injected for "any operation" hit Backup calls only: a client's credential refresh or a
# Config read should not use up a fault a test meant for UpdateFramework.
OPERATIONS = BACKUP_OPERATIONS + STS_OPERATIONS + CONFIG_OPERATIONS
