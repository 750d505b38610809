"""Framework tags: what a change does to them, and the review hash that binds them.

Import from ``frameworks.document``. Tags are not part of the content hash (``content_hash``
covers what UpdateFramework sends); a change that proposes tags is bound to its tags as well
through ``review_hash``, so an approval of "these controls" cannot be carried over to "these
controls with other tags".

Why a second hash rather than tags inside ``content_hash``: every stored document version,
approval and history row names a content hash, and those must keep meaning what they meant
(the same description and controls). ``review_hash`` of a change that leaves the tags alone *is*
its content hash, so every approval given before tags could be edited still counts, and no
stored hash has to be recomputed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

TAGS_HASH_VERSION = 1


def tags_hash(tags: Mapping[str, str]) -> str:
    """Hex sha256 of the canonical JSON of a tag map (order-blind; an empty value is a value)."""
    text = json.dumps(
        {"v": TAGS_HASH_VERSION, "tags": dict(sorted(tags.items()))},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def review_hash(content_hash: str, tags: Mapping[str, str] | None) -> str:
    """What an approval binds to: the content hash alone when the change proposes no tags
    (``None``), else H(content hash, tags hash)."""
    if tags is None:
        return content_hash
    text = f"review:v{TAGS_HASH_VERSION}:{content_hash}:{tags_hash(tags)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TagPlan:
    """The calls that turn ``current`` into ``wanted``: TagResource first (adds and changed
    values), then UntagResource (keys to remove)."""

    to_set: dict[str, str]
    to_remove: list[str]

    @property
    def empty(self) -> bool:
        return not self.to_set and not self.to_remove


def tag_plan(current: Mapping[str, str], wanted: Mapping[str, str]) -> TagPlan:
    return TagPlan(
        to_set={k: v for k, v in sorted(wanted.items()) if current.get(k) != v},
        to_remove=sorted(k for k in current if k not in wanted),
    )


def tags_on_the_way(
    base: Mapping[str, str] | None, wanted: Mapping[str, str], current: Mapping[str, str]
) -> bool:
    """Whether ``current`` is ``base``, ``wanted`` or the state between the two calls of
    ``tag_plan(base, wanted)`` (TagResource done, UntagResource not yet): anything else means
    someone else changed the tags since the change was reviewed. With no known base, any
    current tags are a starting point."""
    if base is None:
        return True
    current = dict(current)
    plan = tag_plan(base, wanted)
    halfway = {**base, **plan.to_set}
    return current in (dict(base), dict(wanted), halfway)
