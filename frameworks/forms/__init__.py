"""Input only: the forms that clean what people post, delegating the API's rules to the
document core. ``draft`` (the whole-draft, JSON, import, new-framework and deletion forms),
``controls`` (one control's form and its parameter and scope rows), ``editor`` (the editor: the
main form with its control forms, validated together), ``widgets`` (the editor's inputs, slots
and words), ``rows`` (its control rows, drawn from those) and ``text`` (the check every form
makes of free text, and the review buttons' forms). This face is for the views; the modules
below import each other directly.
"""

from __future__ import annotations

from frameworks.forms.controls import ControlForm
from frameworks.forms.draft import (
    RAW_PARAMETER_CAPACITY,
    DeletionDraftForm,
    DeletionForm,
    ImportForm,
    JsonDraftForm,
    NewFrameworkForm,
    control_capacity,
    document_json,
    with_fixed_name,
)
from frameworks.forms.editor import (
    Editing,
    FrameworkEditor,
    form_differences,
    new_control_form,
    new_raw_row,
    redraw_control,
    row_slots_oob,
)
from frameworks.forms.text import (
    ApproveForm,
    CommentForm,
    RejectForm,
    ReopenForm,
    RetireForm,
    SubmitForm,
    WithdrawForm,
    named_errors,
)
from frameworks.forms.widgets import Slots, management

__all__ = [
    "RAW_PARAMETER_CAPACITY",
    "ApproveForm",
    "CommentForm",
    "ControlForm",
    "DeletionDraftForm",
    "DeletionForm",
    "Editing",
    "FrameworkEditor",
    "ImportForm",
    "JsonDraftForm",
    "NewFrameworkForm",
    "RejectForm",
    "ReopenForm",
    "RetireForm",
    "Slots",
    "SubmitForm",
    "WithdrawForm",
    "control_capacity",
    "document_json",
    "form_differences",
    "management",
    "named_errors",
    "new_control_form",
    "new_raw_row",
    "redraw_control",
    "row_slots_oob",
    "with_fixed_name",
]
