"""The editor's inputs and feedback elements, written as HTML in Python.

A 50-control framework has some 700 fields. Django renders each widget through a template,
which for this page costs several times the whole read-only framework page; these few
builders do the same with plain string formatting and ``html.escape``. The control rows that
hold them are drawn in ``rows`` the same way; the page template keeps the rest.

Naming follows Django: an input named ``controls-3-tag_key`` has the id
``id_controls-3-tag_key``; its findings live in the element ``fb-controls-3-tag_key``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Iterator, Mapping

from django.utils.safestring import SafeString

from frameworks import document
from frameworks.document.catalog import CONTROLS, RESOURCE_TYPES

_CONTROL_WORDS = re.compile(r"controls\[(\d+)\]")


def e(text: object) -> str:
    """HTML-escaped text, quotes included."""
    return html.escape(str(text), quote=True)


def words(message: str) -> str:
    """``controls[2]`` in a core message reads "control 3", as the rows are numbered."""
    return _CONTROL_WORDS.sub(lambda m: f"control {int(m[1]) + 1}", message)


def sentence(message: str) -> str:
    """A message as a sentence: capital first, full stop last."""
    text = words(message).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else f"{text}."


# --- feedback ---------------------------------------------------------------------------------


def slot(slot_id: str, findings: Iterable[document.Finding], *, oob: bool = False) -> SafeString:
    """The element holding one field's findings; htmx swaps it by its id after a check."""
    items = "".join(
        f'<p class="finding finding-{e(f.severity)}">{e(sentence(f.message))}</p>' for f in findings
    )
    swap = ' hx-swap-oob="true"' if oob else ""
    return SafeString(f'<div class="feedback" id="{e(slot_id)}"{swap}>{items}</div>')


class Slots(Mapping[str, SafeString]):
    """``{{ form.slots.tag_key }}``: the feedback element of one field of one form; "row" is
    the form as a whole."""

    def __init__(
        self, prefix: str, feedback: dict[str, list[document.Finding]], *, oob: bool = False
    ) -> None:
        self.prefix, self.feedback, self.oob = prefix, feedback, oob

    def __getitem__(self, key: str) -> SafeString:
        return slot(f"fb-{self.prefix}-{key}", self.feedback.get(key, ()), oob=self.oob)

    def __iter__(self) -> Iterator[str]:
        return iter(self.feedback)

    def __len__(self) -> int:
        return len(self.feedback)


# --- inputs -----------------------------------------------------------------------------------


def _common(name: str, describedby: str | None, invalid: bool = False) -> str:
    """Name, id and the feedback element that describes the input; an input with an error
    placed on it says so (``aria-invalid``, and the stylesheet draws it red)."""
    described = e(describedby or f"fb-{name}")
    marked = ' aria-invalid="true"' if invalid else ""
    return f'name="{e(name)}" id="id_{e(name)}" aria-describedby="{described}"{marked}'


def text_input(
    name: str,
    value: object,
    *,
    numeric: bool = False,
    describedby: str | None = None,
    invalid: bool = False,
) -> SafeString:
    mode = ' inputmode="numeric"' if numeric else ""
    common = _common(name, describedby, invalid)
    return SafeString(f'<input type="text"{mode} {common} value="{e(value or "")}">')


def textarea(name: str, value: object, *, rows: int = 3, invalid: bool = False) -> SafeString:
    # The line break after the tag keeps a value's own first line break (HTML drops one).
    content = e(value or "")
    common = _common(name, None, invalid)
    return SafeString(f'<textarea {common} rows="{rows}">\n{content}</textarea>')


def select(name: str, options: str, *, invalid: bool = False) -> SafeString:
    return SafeString(f"<select {_common(name, None, invalid)}>{options}</select>")


def options(choices: Iterable[tuple[str, str]], selected: str) -> SafeString:
    """``<option>``s; a selected value missing from the choices is added, so a document's own
    value (a unit AWS would refuse, a new resource type) survives the page."""
    return _options(tuple(choices), selected)


@functools.lru_cache(maxsize=256)
def _options(choices: tuple[tuple[str, str], ...], selected: str) -> SafeString:
    if all(value != selected for value, _ in choices):
        choices = (*choices, (selected, selected))
    return SafeString(
        "".join(
            f'<option value="{e(value)}"{" selected" if value == selected else ""}>'
            f"{e(label)}</option>"
            for value, label in choices
        )
    )


@functools.lru_cache(maxsize=64)
def control_options(selected: str) -> SafeString:
    """The picker's options: the 11 controls by their console titles, each with its one-line
    summary as a tooltip (the chosen one's is also shown under the picker)."""
    known = "".join(
        f'<option value="{e(name)}"{" selected" if name == selected else ""} '
        f'title="{e(spec.summary)}">{e(spec.title)}</option>'
        for name, spec in CONTROLS.items()
    )
    blank = f'<option value=""{" selected" if not selected else ""}>Choose a control</option>'
    other = ""
    if selected and selected not in CONTROLS:
        label = f"{selected} (not a control AWS offers)"
        other = f'<option value="{e(selected)}" selected>{e(label)}</option>'
    return SafeString(blank + known + other)


def radios(name: str, choices: Iterable[tuple[str, str, bool]]) -> SafeString:
    return SafeString(
        "".join(
            f'<label class="check"><input type="radio" name="{e(name)}" value="{e(value)}"'
            f"{' checked' if chosen else ''}> {e(label)}</label>"
            for value, label, chosen in choices
        )
    )


_ESCAPED_TYPES = [(value, e(value)) for value in RESOURCE_TYPES]


def type_checkboxes(name: str, chosen: Iterable[str]) -> SafeString:
    chosen = list(chosen)
    extra = [(v, e(v)) for v in dict.fromkeys(chosen) if v not in RESOURCE_TYPES]
    picked = set(chosen)
    name = e(name)
    return SafeString(
        "".join(
            f'<label class="check"><input type="checkbox" name="{name}" value="{escaped}" '
            f'id="id_{name}_{index}"{" checked" if value in picked else ""}> {escaped}</label>'
            for index, (value, escaped) in enumerate([*_ESCAPED_TYPES, *extra])
        )
    )


def label(name: str, text: str, code: str) -> SafeString:
    """A field's label with the API's own name for it."""
    return SafeString(
        f'<label for="id_{e(name)}">{e(text)} <code class="muted">{e(code)}</code></label>'
    )


def management(element_id: str, prefix: str, total: int, *, oob: bool = False) -> SafeString:
    """A formset's row count, in an element htmx can replace when a row is added."""
    swap = ' hx-swap-oob="true"' if oob else ""
    return SafeString(
        f'<span id="{e(element_id)}"{swap}>'
        f'<input type="hidden" name="{e(prefix)}-TOTAL_FORMS" value="{int(total)}">'
        f'<input type="hidden" name="{e(prefix)}-INITIAL_FORMS" value="0"></span>'
    )
