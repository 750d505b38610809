"""The administrators' target form: input only; the services apply the model's rules again."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from frameworks.forms.text import TextModelForm
from frameworks.models import Target

# Addresses under /frameworks/ that a target's slug would shadow.
RESERVED_SLUGS = frozenset({"targets", "review", "changes", "people", "new"})


class EmailListField(forms.CharField):
    """Addresses one per line (or separated by commas), as a list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # a list, not text
        text = super().to_python(value) or ""
        return [item for item in re.split(r"[\s,;]+", text) if item]

    def validate(self, value: list[str]) -> None:
        for address in value:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    f"{address!r} is not an e-mail address.", code="invalid_email"
                ) from None


class TargetForm(TextModelForm):
    endpoint_url = forms.URLField(
        label="Endpoint URL",
        required=False,
        assume_scheme="https",
        help_text="Only when pointing at an emulator; empty for real AWS.",
    )
    notify_emails = EmailListField(
        label="Notification addresses",
        required=False,
        help_text="Told of every change submitted for this target, beside its approvers. One "
        "address per line.",
    )

    class Meta:
        model = Target
        fields = [
            "slug",
            "display_name",
            "region",
            "profile",
            "role_arn",
            "external_id",
            "endpoint_url",
            "required_approvals",
            "notify_emails",
            "max_frameworks",
            "max_controls",
        ]
        labels = {
            "display_name": "Name",
            "profile": "Credentials: named profile",
            "role_arn": "Role to assume",
            "external_id": "External id",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The slug is part of every address of the target's frameworks: fixed once made.
            del self.fields["slug"]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise ValidationError(f"{slug!r} is taken by the console's own pages.", code="reserved")
        return slug

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("external_id") and not data.get("role_arn"):
            self.add_error(
                "external_id", "An external id is only used with a role to assume: name the role."
            )
        return data

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}
