"""A framework's versions page: the date to show it at, and the two versions to compare (GET
forms: each view is its URL)."""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms

#: What the date field accepts: what a browser's date-and-time field sends (with or without
#: seconds), and the same with a space for the T.
AT_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]


class AsOfForm(forms.Form):
    at = forms.DateTimeField(
        label="Show it as it was at (UTC)",
        input_formats=AT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        error_messages={
            "required": "Enter a date and time to show the framework at.",
            "invalid": "Enter the date and time as 2026-03-31T17:30 (UTC).",
        },
    )

    def clean_at(self) -> datetime:
        at: datetime = self.cleaned_data["at"]
        # Everything on this console is UTC, whatever the server's zone.
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _version_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=2**62,
        error_messages={
            "required": f"Choose the version to compare {label.lower()}.",
            "invalid": f"The version to compare {label.lower()} is not a version number.",
            "min_value": f"The version to compare {label.lower()} is not a version number.",
            "max_value": f"The version to compare {label.lower()} is not a version number.",
        },
    )


class CompareForm(forms.Form):
    """Two versions, each named by the history row that saw it."""

    a = _version_field("From")
    b = _version_field("To")
