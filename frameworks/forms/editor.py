"""The editor: a draft's forms as one unit, the document they write, and the findings placed.

``FrameworkEditor`` holds the framework form and the controls formset (each control with its
raw-parameter formset). It reads a POST into the document *as written* (the API form), and it
draws a document back into forms. It never judges a value: the views ask the document core
(``document.validate`` and ``document.account_findings``) and hand the findings to ``place``,
which puts each one next to the field its path names:

======================================  =========================================================
finding path                            where it is shown
======================================  =========================================================
``description``                         next to the description
``""``, ``name``, unknown               the top of the page (the name is not editable here)
``tags…``                               the framework's tag rows
``controls``                            the top of the controls list
``controls[i]``                         control *i* as a whole
``controls[i].name``                    its control picker
``controls[i].parameters``              its parameters as a whole
``controls[i].parameters.NAME``         the typed field NAME, else the raw row named NAME
``controls[i].parameters[j]``           the raw row that wrote it (a parameter without a name)
``controls[i].scope``                   its choice of scope kind
``controls[i].scope.resource_ids…``     its resource IDs
``controls[i].scope.resource_types…``   its type checkboxes (its resource type for one resource)
``controls[i].scope.tags…``             its tag key, or its tag value for a code about the value
======================================  =========================================================

*i* counts the controls the document holds, so rows removed in the browser are skipped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString

from frameworks import document
from frameworks.forms.controls import (
    SCOPE_ALL,
    SCOPE_RESOURCE,
    SCOPE_TAG,
    SCOPE_TYPES,
    SCOPE_TYPES_TAG,
    ControlForm,
    ControlRows,
    RawParameterForm,
    control_formset,
    control_initial,
)
from frameworks.forms.draft import (
    RAW_PARAMETER_CAPACITY,
    DraftForm,
    FeedbackForm,
    control_capacity,
    tag_formset,
)
from frameworks.forms.widgets import Slots, slot

_NEWLINES = re.compile(r"\r\n?")
REPLACEMENT = "\ufffd"
_UNSTORABLE_POST = {
    "": "",
    "nul": "it holds a NUL character, which cannot be stored",
    # A browser cannot post one (Django decodes bytes, not escapes); said all the same.
    "surrogate": "it holds an unpaired surrogate, which is not text",
}
_CONTROL_PATH = re.compile(r"controls\[(\d+)\](?:\.(.*))?")
_RAW_INDEX = re.compile(r"parameters\[(\d+)\]")

#: The feedback elements every control row draws, then those of each scope kind's fields
#: (only the chosen kind's fields are on the page).
ROW_SLOTS = ("row", "name", "params", "scope_kind")
KIND_SLOTS = {
    SCOPE_ALL: (),
    SCOPE_TYPES: ("resource_types",),
    SCOPE_TAG: ("tag_key", "tag_value"),
    SCOPE_TYPES_TAG: ("resource_types", "tag_key", "tag_value"),
    SCOPE_RESOURCE: ("resource_type", "resource_ids"),
}


def row_slots_oob(form: ControlForm) -> list[SafeString]:
    """Every feedback element of one control row, to swap in out of band after a check."""
    own = Slots(form.prefix or "", form.feedback, oob=True)
    kind = form.values().get("scope_kind") or SCOPE_ALL
    out = [own[key] for key in (*ROW_SLOTS, *KIND_SLOTS.get(kind, ()))]
    out += [own[f"p_{name}"] for name in (form.spec.parameters if form.spec else ())]
    out += [Slots(row.prefix or "", row.feedback, oob=True)["row"] for row in form.raw_rows()]
    return out


# --- the editor -------------------------------------------------------------------------------


@dataclasses.dataclass
class Editing:
    """What the forms do not carry: the framework's name (AWS cannot rename one, so a draft
    keeps the name it was opened with) and its FrameworkTags as stored (``None``: not known),
    kept when a post carries no tag rows."""

    name: str
    tags: dict[str, str] | None = None

    @classmethod
    def of(cls, name: str, stored: Mapping[str, Any]) -> Editing:
        tags = stored.get("FrameworkTags")
        return cls(name, tags if isinstance(tags, dict) else None)


class FrameworkEditor:
    """The framework form and the controls formset of one draft."""

    def __init__(
        self, main: DraftForm, controls: ControlRows, editing: Editing, tags: Any = None
    ) -> None:
        self.main = main
        self.controls = controls
        self.editing = editing
        # None: a post without tag rows (the stored tags are kept as they are).
        self.tags = tags
        self.page_feedback: list[document.Finding] = []
        self.controls_feedback: list[document.Finding] = []
        self.tags_feedback: list[document.Finding] = []

    # --- construction ---

    @classmethod
    def from_document(
        cls,
        doc: document.Document,
        *,
        editing: Editing,
        version: int,
        reason: str = "",
        blank_rows: Mapping[int, int] | None = None,
    ) -> FrameworkEditor:
        """Forms showing ``doc``; ``blank_rows`` adds empty raw rows to some controls (the
        "add a parameter" button without JavaScript)."""
        initial = [control_initial(control) for control in doc.controls]
        for index, count in (blank_rows or {}).items():
            if 0 <= index < len(initial):
                initial[index]["raw"] += [{"name": "", "value": ""}] * count
        # As the textarea will post it back: line breaks as LF.
        description = _NEWLINES.sub("\n", doc.description or "")
        main = DraftForm(initial={"version": version, "description": description, "reason": reason})
        tags = tag_formset(tags=doc.tags if doc.tags is not None else editing.tags)
        return cls(main, control_formset(initial=initial), editing, tags)

    @classmethod
    def from_post(cls, data: QueryDict, *, editing: Editing) -> FrameworkEditor:
        tags = tag_formset(data) if "tags-TOTAL_FORMS" in data else None
        return cls(DraftForm(data), control_formset(data), editing, tags)

    # --- reading ---

    def is_valid(self) -> bool:
        """Whether the POST has the shape of this form (a broken management form, too many
        rows, characters the database cannot keep, bytes that were not UTF-8 make it not).
        Says nothing about the framework: that is the document core's job."""
        tags_ok = self.tags is None or self.tags.is_valid()
        return (
            not self._unreadable() and self.main.is_valid() and self.controls.is_valid() and tags_ok
        )

    def _unreadable(self) -> str:
        """What makes some posted value unusable as text, checked on every field at once."""
        data = self.main.data
        if not isinstance(data, MultiValueDict):  # unbound: nothing was posted
            return ""
        text = "".join(value for _, values in data.lists() for value in values)
        if REPLACEMENT in text:
            # Django reads bytes that are not UTF-8 as U+FFFD; saving that would keep a
            # mangled value nobody typed.
            return f"it holds bytes that are not UTF-8 text (they arrived as {REPLACEMENT})"
        return _UNSTORABLE_POST[document.unstorable(text)]

    def problems(self) -> list[str]:
        """Why ``is_valid`` said no, in sentences."""
        if self._unreadable():
            return [self._unreadable()]
        out = [f"{name}: {' '.join(map(str, errors))}" for name, errors in self.main.errors.items()]
        out += [str(error) for error in self.controls.non_form_errors()]
        if self.tags is not None and self.tags.is_bound:
            out += [f"tags: {error}" for error in self.tags.non_form_errors()]
        for form in self.controls.forms:
            if not form.submitted:
                continue
            out += [f"{form.prefix}-{n}: {' '.join(e)}" for n, e in form.errors.items()]
            out += [str(error) for error in form.params.non_form_errors()]
            for row in form.params.forms:
                out += [f"{row.prefix}-{n}: {' '.join(e)}" for n, e in row.errors.items()]
        return out or ["The form arrived incomplete."]

    @property
    def version(self) -> int:
        if self.main.is_bound:
            return self.main.cleaned_data["version"]
        return self.main.initial["version"]

    @property
    def reason(self) -> str:
        data = self.main.cleaned_data if self.main.is_bound else self.main.initial
        return data.get("reason") or ""

    def rows(self) -> list[ControlForm]:
        """The control forms the document holds, in order."""
        return self.controls.submitted_forms()

    def api_document(self) -> dict[str, Any]:
        """The draft as written, in the API form. Call ``is_valid`` first on a POST."""
        data = self.main.cleaned_data if self.main.is_bound else self.main.initial
        out: dict[str, Any] = {"FrameworkName": self.editing.name}
        if data.get("description"):
            out["FrameworkDescription"] = data["description"]
        out["FrameworkControls"] = [form.api_control() for form in self.rows()]
        tags = self.tag_values()
        if tags is not None:
            out["FrameworkTags"] = tags
        return out

    def tag_values(self) -> dict[str, str] | None:
        """The tags the rows write (a key typed twice keeps its last value; the core reports
        it); the stored tags when the post had no rows; None when unknown and none typed."""
        if self.tags is None:
            return self.editing.tags
        written = [row.values() for row in self.tags.forms]
        tags = dict(pair for pair in written if pair is not None)
        if not tags and self.editing.tags is None:
            return None
        return tags

    def tag_rows(self) -> list[Any]:
        return list(self.tags.forms) if self.tags is not None else []

    def tags_slot(self, oob: bool = False) -> SafeString:
        return slot("fb-tags", self.tags_feedback, oob=oob)

    # --- findings ---

    def place(self, findings: Iterable[document.Finding]) -> None:
        """Put each finding next to the field its path names (see the module docstring)."""
        rows = self.rows()
        controls = [document.Control(name=form.control_name) for form in rows]
        for finding in findings:
            holder, key = self._where(finding, rows)
            # In words: away from its field a finding names the control and the field; next
            # to its field it names the field.
            if isinstance(holder, FeedbackForm):
                message = document.finding_field_words(finding, controls)
            else:
                message = document.finding_words(finding, controls)
            finding = dataclasses.replace(finding, message=message)
            if isinstance(holder, FeedbackForm):
                holder.feedback.setdefault(key or "row", []).append(finding)
            elif holder is None:
                self.controls_feedback.append(finding)
            elif key == "tags":
                self.tags_feedback.append(finding)
            else:
                self.page_feedback.append(finding)

    def _where(
        self, finding: document.Finding, rows: list[ControlForm]
    ) -> tuple[FeedbackForm | FrameworkEditor | None, str]:
        path = finding.path
        if path == "description":
            return self.main, "description"
        if path == "controls":
            return None, ""
        if path == "tags" or path.startswith("tags."):
            return self, "tags"
        match = _CONTROL_PATH.fullmatch(path)
        if match is None or int(match[1]) >= len(rows):
            return self, "page"
        form = rows[int(match[1])]
        return _in_control(form, match[2] or "", finding.code)

    # --- drawing ---

    def page_slot(self, oob: bool = False) -> SafeString:
        return slot("fb-page", self.page_feedback, oob=oob)

    def controls_slot(self, oob: bool = False) -> SafeString:
        return slot("fb-controls", self.controls_feedback, oob=oob)

    def management(self) -> dict[str, Any]:
        return {
            "prefix": self.controls.prefix,
            "total": self.controls.total_form_count(),
            "max": self.controls.max_num,
        }


def _in_control(form: ControlForm, rest: str, code: str) -> tuple[FeedbackForm, str]:
    if rest in ("", "name"):
        return form, rest
    if rest == "parameters":
        return form, "params"
    if rest == "scope":
        return form, "scope_kind"
    if rest.startswith("scope.resource_ids"):
        return form, "resource_ids"
    if rest.startswith("scope.resource_types"):
        one = form.values().get("scope_kind") == SCOPE_RESOURCE
        return form, "resource_type" if one else "resource_types"
    if rest.startswith("scope.tags"):
        about_value = code.startswith("scope.tags.value") or code == "scope.tag_value_empty"
        return form, "tag_value" if about_value else "tag_key"
    if rest.startswith("parameters"):
        return _parameter(form, rest, code)
    return form, ""


def _parameter(form: ControlForm, rest: str, code: str) -> tuple[FeedbackForm, str]:
    rows = form.raw_rows()
    written = [row for row in rows if row.values() is not None]
    match = _RAW_INDEX.fullmatch(rest)
    if match:
        # The control writes its typed values first, then its raw rows (``api_control``).
        typed = len(form.api_control().get("ControlInputParameters", [])) - len(written)
        index = int(match[1]) - typed
        return (written[index], "") if 0 <= index < len(written) else (form, "params")
    name = rest.removeprefix("parameters.")
    key = f"p_{name}"
    named = [row for row in written if (row.values() or {}).get("ParameterName") == name]
    typed_given = key in form.fields and bool(form.values().get(key))
    if key in form.fields and (typed_given or not named or code == "parameter.default"):
        return form, key
    if named:
        # A repeat is reported once, at its second occurrence.
        return (named[-1] if code == "parameter.duplicate" else named[0]), ""
    return form, "params"


def _written(doc: document.Document) -> dict[str, Any]:
    """A document as written, up to the order of parameters and resource types (which AWS
    does not keep either)."""
    out = document.to_api(doc)
    for control in out.get("FrameworkControls", []):
        if "ControlInputParameters" in control:
            control["ControlInputParameters"].sort(
                key=lambda p: (p["ParameterName"], p["ParameterValue"])
            )
        scope = control.get("ControlScope") or {}
        if "ComplianceResourceTypes" in scope:
            scope["ComplianceResourceTypes"].sort()
    return out


def form_differences(
    editor: FrameworkEditor, stored: document.Document, shown: document.Document | None = None
) -> list[int] | None:
    """None when saving the page drawn from ``editor`` (unbound, from ``stored``) would keep
    ``stored`` as the document core sees it (``document.normalise``: ``{}`` and an absent scope,
    the order of controls, parameters and resource types, an empty description are all the
    same); else the numbers (from 1) of the controls it would write differently ([] when the
    difference is elsewhere). ``shown``: the parsed ``editor.api_document()``, if already made.

    The forms' initial values are what the browser will post back (``control_initial``), so
    the document they write is the one the page would save; the tests check that against
    the page itself with ``tests.factories.browser_post``.
    """
    rows = editor.rows()
    too_many = any(len(row.raw_rows()) > RAW_PARAMETER_CAPACITY for row in rows)
    if stored.parse_findings or too_many or len(rows) > control_capacity():
        return []
    shown = shown or document.parse(editor.api_document())
    if document.normalise(stored) == document.normalise(shown):
        return None
    old, new = stored.controls, shown.controls
    if len(old) != len(new):
        return []
    return [
        number
        for number, (a, b) in enumerate(zip(old, new, strict=True), 1)
        if document.control_key(a) != document.control_key(b)
    ]


def blank_control() -> dict[str, Any]:
    return {"name": "", "scope_kind": SCOPE_ALL, "raw": []}


def new_control_form(index: int) -> ControlForm:
    """An empty control row at ``index`` (the htmx "add a control" answer)."""
    return ControlForm(initial=blank_control(), prefix=f"controls-{index}")


def redraw_control(control: document.Control, prefix: str) -> ControlForm:
    """A control row showing ``control`` (after a switch of control or scope kind)."""
    return ControlForm(initial=control_initial(control), prefix=prefix)


def new_raw_row(prefix: str, index: int) -> RawParameterForm:
    """An empty parameter row (the htmx "add a parameter" answer)."""
    return RawParameterForm(initial={"name": "", "value": ""}, prefix=f"{prefix}-{index}")
