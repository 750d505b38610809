"""The audit page's filter (a GET form: a view is its URL) and the evidence pack's period."""

from __future__ import annotations

from typing import Any

from django import forms

from frameworks.forms.text import TextForm
from frameworks.models import EventGroup, Outcome, Target
from frameworks.queries.audit import ACTOR_KINDS, Filters

#: Longest free-text search accepted.
MAX_SEARCH = 200


class AuditFilterForm(TextForm):
    """Every field optional; a bad value is named, and the page shows the rest of the view."""

    target = forms.ChoiceField(label="Account and Region", required=False)
    framework = forms.CharField(label="Framework", required=False, max_length=256)
    actor = forms.CharField(
        label="Who",
        required=False,
        max_length=150,
        help_text="A user name, or worker, sync or system.",
    )
    kind = forms.ChoiceField(
        label="Event kind", required=False, choices=[("", "Any"), *EventGroup.choices]
    )
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any"), *Outcome.choices]
    )
    since = forms.DateField(
        label="From (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To (UTC, inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(
        label="Search reasons, comments and AWS errors", required=False, max_length=MAX_SEARCH
    )
    outside = forms.BooleanField(label="Only changes made outside the console", required=False)

    def __init__(self, *args: Any, targets: list[Target], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = {t.slug: t for t in targets}
        choices = [("", "All I may view")] + [(t.slug, t.name_and_region) for t in targets]
        self.fields["target"].choices = choices  # type: ignore[attr-defined]

    def clean_actor(self) -> str:
        return self.cleaned_data["actor"].strip()

    def clean_framework(self) -> str:
        return self.cleaned_data["framework"].strip()

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the date range is before its start.")
        return data

    def filters(self) -> Filters:
        """The view as asked, leaving out any field that did not clean."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        errors = self.errors
        value = {name: data.get(name) for name in self.fields if name not in errors}
        return Filters(
            target=self.targets.get(value.get("target") or ""),
            framework=value.get("framework") or "",
            actor=value.get("actor") or "",
            kind=value.get("kind") or "",
            outcome=value.get("outcome") or "",
            since=value.get("since"),
            until=value.get("until") if "until" not in errors else None,
            q=value.get("q") or "",
            outside=bool(value.get("outside")),
        )


__all__ = ["ACTOR_KINDS", "AuditFilterForm", "PackForm"]


class PackForm(TextForm):
    """The evidence pack: a period and the targets it covers."""

    since = forms.DateField(label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label="To (UTC, inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    targets = forms.MultipleChoiceField(
        label="Accounts and Regions",
        required=False,
        help_text="None chosen: every one you may view.",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, targets: list[Target], **kwargs: Any) -> None:
        # Its own ids: the audit page shows it beside the filter, which has a "since" too.
        kwargs.setdefault("auto_id", "pack_%s")
        super().__init__(*args, **kwargs)
        self.all_targets = targets
        self.fields["targets"].choices = [  # type: ignore[attr-defined]
            (t.slug, t.name_and_region) for t in targets
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the period is before its start.")
        return data

    def chosen_targets(self) -> list[Target]:
        slugs = set(self.cleaned_data.get("targets") or [])
        return [t for t in self.all_targets if t.slug in slugs] or list(self.all_targets)
