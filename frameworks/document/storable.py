"""Text the database cannot keep: a NUL character (PostgreSQL's text and jsonb refuse it) and
an unpaired surrogate (from a \\ud800 escape in JSON: not text, UTF-8 cannot encode it). The
forms refuse it with their own sentences and the services refuse it from any other caller,
before it can fail a save half-way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

Problem = Literal["", "nul", "surrogate"]


def unstorable(text: str) -> Problem:
    """What keeps the database from storing `text`; "" when nothing does."""
    if "\x00" in text:
        return "nul"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    return ""


def strings_in(data: object) -> Iterator[str]:
    """Every string of a JSON value, keys included."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


def unstorable_in(data: object) -> Problem:
    """The first problem of any string in a JSON value; "" when it can all be stored."""
    for text in strings_in(data):
        problem = unstorable(text)
        if problem:
            return problem
    return ""


#: The longest text each kind of free-text field takes, in characters. The pages' ``maxlength``
#: attributes (``{% text_limit %}``, or a form field's ``max_length``) and the server's check
#: (``forms.text``) read these same numbers. Editor fields that AWS limits more tightly keep a
#: larger limit here, so the document core can still say what AWS allows next to the field.
TEXT_LIMITS: dict[str, int] = {
    "comment": 10_000,  # a comment on a change
    "reason": 4_000,  # why a change (submit, reject, a draft's or a deletion's reason)
    "note": 2_000,  # an approval note; why reopen or withdraw
    "retire_reason": 500,  # why a target is retired
    "line": 2_048,  # any other one-line value: names, tag keys and values, parameters
    "text": 10_000,  # any other multi-line text: a framework's description
    "lines": 204_800,  # a list typed one per line (resource ids: AWS takes 100)
    "document": 2 * 1024 * 1024,  # a framework document pasted as JSON
}


def text_limit(kind: str) -> int:
    """The longest text a field of ``kind`` (a key of ``TEXT_LIMITS``) takes."""
    return TEXT_LIMITS[kind]


#: What keeps text from being stored, in words that follow a field's name.
UNSTORABLE_WORDS: dict[str, str] = {
    "nul": "holds a NUL character (\\0), which cannot be stored",
    "surrogate": "holds an unpaired surrogate (such as \\ud800), which is not text",
}
