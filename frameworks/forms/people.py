"""The People pages' forms: input only. The access services decide who may do what and apply
Django's password validators (their refusals are shown on the form)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from frameworks.models import Role

if TYPE_CHECKING:
    from frameworks.models import Target

EVERYWHERE = "everywhere"


class PersonForm(forms.Form):
    """A new account. Superuser and staff flags are not fields: the command line sets them."""

    username = forms.CharField(label="User name", max_length=150)
    email = forms.EmailField(label="E-mail address", required=False, max_length=254)
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    password = forms.CharField(
        label="Temporary password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Hand it to the person; they should change it when they first sign in.",
    )

    def values(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in ("username", "email", "first_name", "last_name")}


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="New temporary password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class GrantForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    where = forms.ChoiceField(label="Where")

    def __init__(self, *args: Any, targets: list[Target], everywhere: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [(EVERYWHERE, "Every target")] if everywhere else []
        choices += [(str(t.pk), t.display_name) for t in targets]
        self.fields["where"].choices = choices  # type: ignore[attr-defined]

    def target_id(self) -> int | None:
        where = self.cleaned_data["where"]
        return None if where == EVERYWHERE else int(where)
