"""Free text as the database can keep it: one check for every form in ``frameworks.forms``.

``TextChecks`` is mixed into every form here. After Django has cleaned the fields it reads
each field's posted value as it arrived and refuses, with a sentence shown after the field's
name (next to the field, or "Comment: this text ..." in a message), text PostgreSQL cannot
store (a NUL character; an unpaired surrogate, ``document.unstorable``) and text longer than
the field takes: its own ``max_length``, else the limit of its kind in
``document.TEXT_LIMITS`` (the numbers the pages' ``maxlength`` attributes show). These
sentences replace Django's own ("Null characters are not allowed.", which names nothing).

This module also holds the small forms of the review buttons (submit, approve, reject, reopen,
withdraw, comment) and of retiring a target, so that no view reads free text from
``request.POST`` itself.
"""

from __future__ import annotations

from typing import Any

from django import forms

from frameworks import document


def free_text(kind: str, *, label: str, required: bool = False, **kwargs: Any) -> forms.CharField:
    """A free-text field of ``kind`` (a key of ``document.TEXT_LIMITS``)."""
    return forms.CharField(
        label=label, required=required, max_length=document.text_limit(kind), **kwargs
    )


def limit_of(field: forms.Field) -> int | None:
    """The longest text ``field`` takes; None for fields whose values are not text (dates,
    numbers, checkboxes, files judge their own). A choice the editor takes as typed is text."""
    if isinstance(field, forms.ChoiceField):
        return document.text_limit("line")
    if not isinstance(field, forms.CharField):
        return None
    if field.max_length is not None:
        return field.max_length
    kind = getattr(field, "text_kind", None)
    if kind is None:
        kind = "text" if isinstance(field.widget, forms.Textarea) else "line"
    return document.text_limit(kind)


def text_problem(field: forms.Field, value: object) -> str:
    """What is wrong with ``value`` as posted for ``field``, as a sentence that follows the
    field's name ("Comment: this text ..."); "" when nothing is."""
    values = value if isinstance(value, list | tuple) else [value]
    texts = [item for item in values if isinstance(item, str)]
    problem = document.unstorable_in(texts)
    if problem:
        return f"This text {document.UNSTORABLE_WORDS[problem]}."
    limit = limit_of(field)
    longest = max((len(item) for item in texts), default=0)
    if limit is not None and longest > limit:
        return f"This text is {longest:,} characters long; at most {limit:,} are kept."
    return ""


class TextChecks:
    """Mixed into a Django form: free text refused as the module says."""

    def _clean_fields(self) -> None:
        super()._clean_fields()  # type: ignore[misc]
        form: forms.BaseForm = self  # type: ignore[assignment]
        for name, bound in form._bound_items():  # type: ignore[attr-defined]
            problem = text_problem(bound.field, bound.data)
            if problem:
                form._errors[name] = form.error_class([problem])  # type: ignore[attr-defined]
                form.cleaned_data.pop(name, None)


def named_errors(form: forms.BaseForm) -> list[str]:
    """The form's errors as sentences, each after the name of its field in words."""
    out = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = str(field.label or name) if field is not None else ""
        out += [f"{label}: {error}" if label else str(error) for error in errors]
    return out


class TextForm(TextChecks, forms.Form):
    """A form whose free text is checked (``TextChecks``)."""


class TextModelForm(TextChecks, forms.ModelForm):
    """A model form whose free text is checked (``TextChecks``)."""


# --- the review buttons and retiring a target -----------------------------------------------


class SubmitForm(TextForm):
    reason = free_text("reason", label="Why this change")
    version = forms.IntegerField(label="Draft version", required=False, widget=forms.HiddenInput)


class ApproveForm(TextForm):
    content_hash = free_text("line", label="Reviewed proposal", widget=forms.HiddenInput)
    note = free_text("note", label="Note")


class RejectForm(TextForm):
    content_hash = free_text("line", label="Reviewed proposal", widget=forms.HiddenInput)
    reason = free_text("reason", label="Why reject it")


class ReopenForm(TextForm):
    reason = free_text("note", label="Why reopen it")


class WithdrawForm(TextForm):
    reason = free_text("note", label="Why withdraw it")


class CommentForm(TextForm):
    body = free_text("comment", label="Comment")


class RetireForm(TextForm):
    reason = free_text("retire_reason", label="Why retire it")
