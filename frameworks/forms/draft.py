"""Forms of the framework editor: input only.

The forms read what the browser sent and tidy it (line breaks, list items one per line); they
never judge it. Every rule about frameworks lives in ``frameworks.document``: the editor
(``forms_editor``) builds the document *as written* from the cleaned data and asks the document
core, so the form, the JSON mode, the file import, the command line and the worker apply the
same rules. That is why the fields here accept any text: a value out of range or a control AWS
does not know is the core's to report, next to the field it belongs to.

This module holds the fields, the framework's own forms and the JSON and import forms; the
control rows are in ``forms_controls``, the inputs' HTML in ``forms_widgets``.

Speed: a 50-control framework has some 700 fields, and Django deep-copies every field for each
form instance. These forms share their field objects between instances instead (nothing here
mutates a field).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from django import forms
from django.conf import settings

from frameworks import document
from frameworks.document.catalog import CONTROLS, RESOURCE_TYPES
from frameworks.forms.text import TextForm
from frameworks.forms.widgets import Slots

#: Raw name/value rows per control the form can hold. The catalogue's controls take at most
#: three parameters, so this is room for mistakes and for parameters AWS may add, not a rule.
RAW_PARAMETER_CAPACITY = 10
_MOST_TYPED = max(len(spec.parameters) for spec in CONTROLS.values())
#: Fields one control row can post: picker, scope kind, the type checkboxes, resource type, ids,
#: tag key and value, its typed parameters, and the raw rows with their management form.
FIELDS_PER_CONTROL = 1 + 1 + len(RESOURCE_TYPES) + 1 + 1 + 2 + _MOST_TYPED + 4
FIELDS_PER_CONTROL += 2 * RAW_PARAMETER_CAPACITY
#: Framework tag rows the form can hold: AWS's 50 and one spare row to type a new one into.
TAG_ROWS = 51
#: The page's own fields: CSRF token, version, description, reason, the controls' management
#: form, the button pressed and one spare; then the tag rows and their management form.
PAGE_FIELDS = 10 + 2 * TAG_ROWS + 4


def max_fields(controls: int) -> int:
    """What the editor posts for a framework of ``controls`` controls, at most."""
    return PAGE_FIELDS + controls * FIELDS_PER_CONTROL


def control_capacity() -> int:
    """How many control rows a posted form may hold: what DATA_UPLOAD_MAX_NUMBER_FIELDS (set
    from the quotas in settings) lets through. A document with more is edited as JSON."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if limit is None:
        return 1000
    return max(1, (limit - PAGE_FIELDS) // FIELDS_PER_CONTROL)


# --- Fields -----------------------------------------------------------------------------------

_NEWLINES = re.compile(r"\r\n?")


_FormClass = TypeVar("_FormClass", bound=type[forms.Form])


class _SharedFields(dict[str, forms.Field]):
    """A form's fields, shared by its instances instead of deep-copied for each one."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedFields:
        return _SharedFields(self)


def share_fields(form_class: _FormClass) -> _FormClass:
    form_class.base_fields = _SharedFields(form_class.base_fields)
    return form_class


def text(**kwargs: Any) -> forms.CharField:
    """Text kept exactly as typed: spaces around a value are the core's to report."""
    return forms.CharField(required=False, strip=False, **kwargs)


def single_line(value: str) -> str:
    """What a browser posts back from a one-line input: line breaks are dropped."""
    return value.replace("\r", "").replace("\n", "")


def lines(items: list[str]) -> list[str]:
    """What a one-item-per-line textarea gives back for ``items``."""
    return [line for line in "\n".join(items).splitlines() if line.strip()]


class MultilineField(forms.CharField):
    """A textarea's text with the browser's CRLF line breaks turned back into LF."""

    widget = forms.Textarea

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, strip=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return _NEWLINES.sub("\n", super().to_python(value) or "")


class LinesField(forms.CharField):
    """A list typed one item per line; blank lines are left out."""

    widget = forms.Textarea
    text_kind = "lines"  # its limit (``forms.text``)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, strip=False, **kwargs)

    # The cleaned value of this text field is a list on purpose: its lines.
    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return lines([super().to_python(value) or ""])

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value or ""


class CommaListField(LinesField):
    """A parameter whose value is a comma-separated list on the wire, typed one per line."""

    def to_python(self, value: Any) -> str:  # type: ignore[override]
        return ",".join(super().to_python(value))

    def prepare_value(self, value: Any) -> str:
        return "\n".join(value.split(",")) if value else ""


class LooseChoiceField(forms.CharField):
    """A choice drawn as a select, accepting any text: what AWS accepts is the core's call."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, strip=False, **kwargs)


class LooseMultipleChoiceField(forms.MultipleChoiceField):
    """Checkboxes accepting any values (AWS adds resource types over time; the core warns)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def valid_value(self, value: str) -> bool:
        return True


# --- The framework as a whole -----------------------------------------------------------------


class FeedbackForm(TextForm):
    """A form the editor can place findings on: ``feedback`` maps a field name (or "row" for
    the form as a whole) to its findings."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feedback: dict[str, list[document.Finding]] = {}

    @property
    def slots(self) -> Slots:
        return Slots(self.prefix or "draft", self.feedback)

    def erring(self, key: str) -> bool:
        """Whether an error (not a warning) is placed on this field: its input is marked."""
        return any(f.severity == document.ERROR for f in self.feedback.get(key, ()))

    def __getitem__(self, name: str) -> forms.BoundField:
        # Templates try ``form["spec"]`` before ``form.spec``; Django's KeyError message sorts
        # every field name, a thousand times a page here.
        if name not in self.fields:
            raise KeyError(name)
        return super().__getitem__(name)


@share_fields
class DraftForm(FeedbackForm):
    """The framework's own fields. ``version`` is the draft's version when the page was drawn:
    saving with an older one is refused (two tabs, two people)."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    description = MultilineField(label="Description")
    reason = MultilineField(label="Why this change", max_length=document.text_limit("reason"))


class TagRowForm(TextForm):
    """One framework tag: a key and a value, kept exactly as typed (the core judges them)."""

    key = text(label="Key")
    value = text(label="Value")

    def values(self) -> tuple[str, str] | None:
        """(key, value), or None for a row left empty (no tag)."""
        data = self.cleaned_data if self.is_bound else self.initial
        key, value = single_line(data.get("key") or ""), single_line(data.get("value") or "")
        return None if not key and not value else (key, value)


share_fields(TagRowForm)
TagFormSet = forms.formset_factory(
    TagRowForm, extra=0, max_num=TAG_ROWS, absolute_max=TAG_ROWS, validate_max=True
)


def tag_formset(data: Any = None, *, tags: dict[str, str] | None = None) -> forms.BaseFormSet:
    """The tag rows: bound to a POST, or showing ``tags`` sorted by key plus one empty row."""
    if data is not None:
        return TagFormSet(data, prefix="tags")
    rows = [{"key": k, "value": v} for k, v in sorted((tags or {}).items())]
    if len(rows) < TAG_ROWS:
        rows.append({"key": "", "value": ""})
    return TagFormSet(initial=rows, prefix="tags")


class NewFrameworkForm(TextForm):
    """The name of a new framework, chosen first: AWS cannot rename one later, so a draft keeps
    the name it was opened with. The service checks it with the document core."""

    name = text(label="Name")


# --- JSON mode and import ---------------------------------------------------------------------

#: An imported file may hold a whole CloudFormation template's resource; well above any
#: framework (50 controls of 100 ids each is under 400 KB) and under Django's own upload limit.
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def read_json_document(text: str) -> dict[str, Any]:
    """A framework document from JSON text, in the API form; ValidationError if unusable.

    CloudFormation (the resource or its Properties) is turned into the API form. Whether the
    content is *valid* is not decided here: the editor shows the core's findings.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            "This is not valid JSON: %(error)s (line %(line)s, column %(column)s).",
            code="json",
            params={"error": error.msg, "line": error.lineno, "column": error.colno},
        ) from None
    except RecursionError:
        raise forms.ValidationError("This JSON is nested too deeply.", code="json") from None
    _check_storable(data)
    try:
        parsed = document.parse(data)
    except document.DocumentError as error:
        raise forms.ValidationError(
            [
                forms.ValidationError(str(finding), code="document")
                for finding in error.findings[:20]
            ]
        ) from None
    if isinstance(data, dict) and "Type" in data and "FrameworkControls" not in data:
        return document.to_api(parsed)
    return data


_UNSTORABLE_JSON = {
    "nul": "The JSON contains a NUL character (\\u0000), which cannot be stored.",
    "surrogate": (
        "The JSON contains an unpaired surrogate escape (such as \\ud800), which is not text."
    ),
}


def _check_storable(data: object) -> None:
    """Text the database cannot keep (``document.unstorable``) is refused here, before it can
    fail a save half-way."""
    problem = document.unstorable_in(data)
    if problem:
        raise forms.ValidationError(_UNSTORABLE_JSON[problem], code=problem)


class JsonDraftForm(TextForm):
    """The draft as one JSON document (the API form)."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    text = MultilineField(
        label="Framework document (JSON)", max_length=document.text_limit("document")
    )
    reason = MultilineField(label="Why this change", max_length=document.text_limit("reason"))

    def clean_text(self) -> dict[str, Any]:
        text = self.cleaned_data["text"]
        if "\ufffd" in text:
            # Django reads bytes that are not UTF-8 as U+FFFD (a JSON escape of it is fine).
            raise forms.ValidationError(
                "The text holds bytes that are not UTF-8 (shown as \ufffd); paste it again.",
                code="encoding",
            )
        if not text.strip():
            raise forms.ValidationError("Write or paste a framework document.", code="empty")
        return read_json_document(text)


class ImportForm(TextForm):
    """A JSON file (API or CloudFormation form) to replace the draft's document."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    file = forms.FileField(label="JSON file")

    def clean_file(self) -> dict[str, Any]:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                "The file is %(size)s bytes; a framework document is far smaller "
                "(at most %(limit)s bytes here).",
                code="too_big",
                params={"size": upload.size, "limit": MAX_IMPORT_BYTES},
            )
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(
                "The file is not UTF-8 text (byte %(position)s cannot be read); save it as "
                "UTF-8 JSON and try again.",
                code="encoding",
                params={"position": error.start},
            ) from None
        return read_json_document(text)


class DeletionForm(TextForm):
    """Why a framework should be deleted."""

    reason = MultilineField(
        label="Why delete this framework", max_length=document.text_limit("reason")
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if not reason.strip():
            raise forms.ValidationError(
                "Say why the framework should go: reviewers decide on it.", code="required"
            )
        return reason


class DeletionDraftForm(DeletionForm):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


def with_fixed_name(data: dict[str, Any], name: str) -> tuple[dict[str, Any], bool]:
    """The document with ``name`` as its FrameworkName (AWS cannot rename a framework), and
    whether it had to change."""
    if data.get("FrameworkName") == name:
        return data, False
    return {**data, "FrameworkName": name}, "FrameworkName" in data


def document_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
