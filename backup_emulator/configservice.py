"""The AWS Config wire: JSON 1.1 (``X-Amz-Target: StarlingDoveService.<Operation>``, as the
``targetPrefix`` of botocore's ``config`` 2014-11-12 model says), for the two reads a product needs
to explain a framework's FrameworkStatus: ``DescribeConfigurationRecorders`` and
``DescribeConfigurationRecorderStatus``. What they answer comes from ``recording.py``.

Both take an optional ``ConfigurationRecorderNames``: a name other than the one recorder
(``default``), or any name where there is no recorder, answers
``NoSuchConfigurationRecorderException`` "Cannot find configuration recorder with the specified
name '<name>'.". Errors are ``{"__type": ..., "message": ...}`` with HTTP 400 (403 for the
credential errors), Content-Type ``application/x-amz-json-1.1``.
"""

from __future__ import annotations

from typing import Any

from . import recording
from .recording import Recording
from .rules import ApiError

TARGET_PREFIX = "StarlingDoveService."
CONTENT_TYPE = "application/x-amz-json-1.1"


def answer(
    operation: str, setting: Recording, account: str, region: str, params: dict[str, Any]
) -> dict[str, Any]:
    names = params.get("ConfigurationRecorderNames")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise ApiError(
            "SerializationException", "Unexpected value type for ConfigurationRecorderNames"
        )
    exists = setting.mode != "none"
    for name in names or []:
        if not exists or name != recording.RECORDER_NAME:
            raise ApiError(
                "NoSuchConfigurationRecorderException",
                f"Cannot find configuration recorder with the specified name '{name}'.",
            )
    if operation == "DescribeConfigurationRecorders":
        return {"ConfigurationRecorders": recording.describe_recorders(setting, account, region)}
    return {"ConfigurationRecordersStatus": recording.describe_status(setting, account, region)}


def error_body(error: ApiError) -> dict[str, Any]:
    return {"__type": error.code, "message": error.message}
