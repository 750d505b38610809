"""Tags on frameworks: ``ListTags``, ``TagResource`` and ``UntagResource`` of the ``backup`` model.

The tags are the framework's own ``FrameworkTags``: what CreateFramework set, TagResource adds to or
overwrites and UntagResource removes; ListTags lists them sorted by key, in pages.

How an ARN is answered, in this order (choices where AWS does not document them):

1. not an ARN at all (the model's pattern ``(arn:aws[a-z-]*:[a-z-\\d]+:).+``), or an ARN of
   another service (``arn:aws:ec2:...``; the model: "ARNs that do not include backup are
   incompatible with tagging") -> InvalidParameterValueException;
2. an AWS Backup ARN of **another account** -> AccessDeniedException (403), "User: <caller> is not
   authorized to perform: backup:<Operation> on resource: <arn>": IAM decides before the service
   looks the resource up, and frameworks have no resource policy that could let another account
   in, so AWS never gets as far as saying whether it exists;
3. an ARN of this account in **another Region**, of a framework that does not exist (deleted, or
   a made-up id), or of another Backup resource type (plans, vaults, recovery points are not
   modelled) -> ResourceNotFoundException.

Limits (``rules.validate_tags``): keys 1-128 characters, values 0-256, letters, digits, spaces and
``_ . : / = + - @``; ``aws:`` keys are reserved (InvalidParameterValueException, also for
UntagResource); more than 50 tags on a framework after a TagResource -> LimitExceededException.
A TagResource whose tags are already there, or an UntagResource of keys that are not, succeeds and
changes nothing (the call log says ``effective: false``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import rules
from .rules import ApiError

if TYPE_CHECKING:
    from .identity import Principal
    from .state.framework import Framework

OPERATIONS = ("ListTags", "TagResource", "UntagResource")


def find(
    operation: str,
    caller: Principal,
    region: str,
    arn: Any,
    frameworks: list[Framework],
) -> Framework:
    """The framework an ARN names, or the error AWS answers (see the module docstring)."""
    if arn is None or arn == "":
        raise rules.missing("ResourceArn is required.", "ResourceArn")
    if not isinstance(arn, str) or not rules.RESOURCE_ARN.fullmatch(arn):
        raise rules.invalid(f"Invalid ARN: {arn}", "ResourceArn")
    backup = rules.BACKUP_ARN.fullmatch(arn)
    if backup is None:
        raise rules.invalid(
            f"ARNs that do not include backup are incompatible with tagging: {arn}", "ResourceArn"
        )
    if backup["account"] != caller.account:
        raise ApiError(
            "AccessDeniedException",
            f"User: {caller.arn} is not authorized to perform: backup:{operation} on resource: "
            f"{arn}",
        )
    for framework in frameworks:
        if framework.arn == arn and framework.region == region:
            return framework
    raise ApiError("ResourceNotFoundException", f"Resource {arn} not found.", Context=arn)


def list_tags(framework: Framework, query: dict[str, Any]) -> dict[str, Any]:
    raw_max = query.get("maxResults")
    limit = 1000
    if raw_max is not None:
        if not rules.INTEGER.fullmatch(str(raw_max)) or not 1 <= int(raw_max) <= 1000:
            raise rules.invalid("MaxResults must be between 1 and 1000.", "MaxResults")
        limit = int(raw_max)
    keys = sorted(framework.tags)
    # A token is (ARN, "tags", last key): valid for this framework only.
    after = rules.decode_next_token(query.get("nextToken"), framework.arn, "tags")
    if after is not None:
        keys = [k for k in keys if k > after]
    page = keys[:limit]
    answer: dict[str, Any] = {"Tags": {k: framework.tags[k] for k in page}}
    if len(keys) > limit:
        answer["NextToken"] = rules.encode_next_token(framework.arn, "tags", page[-1])
    return answer


def tag(framework: Framework, body: dict[str, Any]) -> bool:
    """Add or overwrite tags; whether anything changed."""
    tags = body.get("Tags")
    if tags is None:
        raise rules.missing("Tags is required.", "Tags")
    rules.validate_tags(tags, "Tags")
    merged = {**framework.tags, **tags}
    if len(merged) > rules.MAX_TAGS:
        raise ApiError(
            "LimitExceededException",
            f"A resource can have at most {rules.MAX_TAGS} tags; this request would leave "
            f"{len(merged)}.",
            Context="Tags",
        )
    changed = merged != framework.tags
    framework.tags = merged
    return changed


def untag(framework: Framework, body: dict[str, Any]) -> bool:
    """Remove tags by key; whether anything changed."""
    keys = body.get("TagKeyList")
    if keys is None:
        raise rules.missing("TagKeyList is required.", "TagKeyList")
    if not isinstance(keys, list):
        raise ApiError("SerializationException", "Unexpected value type for TagKeyList")
    for key in keys:
        rules.validate_tag_key(key, "TagKeyList")
    kept = {k: v for k, v in framework.tags.items() if k not in keys}
    changed = kept != framework.tags
    framework.tags = kept
    return changed
