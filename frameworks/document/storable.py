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
