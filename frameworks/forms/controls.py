"""The editor's control rows: one form per control, with its raw name/value rows.

A control row has the control picker, a typed field per catalogue parameter of the chosen
control (a choice for units, a number, a list one item per line), raw name/value rows for
anything else, and the scope: all resources, resource types, one tag, or one resource.

``control_initial`` draws a parsed control into a row's initial values *as the browser will
post them back* (line breaks a one-line input cannot hold dropped, blank list items left out),
so the document the initial values write is exactly the document the page would save: the
editor compares the two to say when a document cannot be shown as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from django import forms
from django.forms.formsets import ManagementForm
from django.http import QueryDict
from django.utils.functional import cached_property
from django.utils.safestring import SafeString

from frameworks import document
from frameworks.document.catalog import (
    BACKUP_PLAN_TYPE,
    CONTROLS,
    RESOURCE_TYPES,
    SCOPE_RESOURCE,
    SCOPE_TAG,
    SCOPE_TYPES,
    ControlSpec,
    ParameterSpec,
)
from frameworks.forms.draft import (
    RAW_PARAMETER_CAPACITY,
    CommaListField,
    FeedbackForm,
    LinesField,
    LooseChoiceField,
    LooseMultipleChoiceField,
    control_capacity,
    lines,
    share_fields,
    single_line,
    text,
)
from frameworks.forms.widgets import (
    control_options,
    label,
    management,
    options,
    radios,
    select,
    text_input,
    textarea,
    type_checkboxes,
)

SCOPE_ALL = "all"
#: Types and a tag together: undocumented but deployed in production (the core warns). Offered
#: only when a document already uses it, so that such a document survives the form unchanged.
SCOPE_TYPES_TAG = "types_tag"
SCOPE_KIND_LABELS = {
    SCOPE_ALL: "All resources the control applies to",
    SCOPE_TYPES: "Resource types",
    SCOPE_TAG: "Resources with one tag",
    SCOPE_TYPES_TAG: "Resource types with one tag (not documented by AWS)",
    SCOPE_RESOURCE: "One resource",
}


# --- formsets whose management form is believable ---------------------------------------------


@share_fields
class _ManagementForm(ManagementForm):
    pass


class _Rows(forms.BaseFormSet):
    """Django accepts a negative row count, which would silently drop every row: refused.
    The management form shares its fields too (there is one per control)."""

    @cached_property
    def management_form(self) -> ManagementForm:
        if not self.is_bound:
            return super().management_form
        form = _ManagementForm(
            self.data,
            auto_id=self.auto_id,
            prefix=self.prefix,
            renderer=self.renderer,  # type: ignore[attr-defined]  # set by BaseFormSet.__init__
        )
        form.full_clean()
        return form

    def clean(self) -> None:
        if self.is_bound and (self.management_form.cleaned_data["TOTAL_FORMS"] or 0) < 0:
            raise forms.ValidationError("The number of rows is negative.", code="rows")


# --- raw name/value rows ----------------------------------------------------------------------


@share_fields
class RawParameterForm(FeedbackForm):
    """One parameter as a name and a value, for anything the typed fields do not cover."""

    name = text(label="Parameter name")
    value = text(label="Value")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # False when the browser dropped the row (removed with htmx): the formset skips it.
        self.submitted = not self.is_bound or self.add_prefix("name") in self.data

    def values(self) -> dict[str, str] | None:
        data = self.cleaned_data if self.is_bound else self.initial
        name, value = data.get("name") or "", data.get("value") or ""
        return {"ParameterName": name, "ParameterValue": value} if name or value else None

    def inputs(self) -> dict[str, SafeString]:
        describedby = f"fb-{self.prefix}-row"
        invalid = self.erring("row")
        return {
            key: text_input(
                self.add_prefix(key), self[key].value(), describedby=describedby, invalid=invalid
            )
            for key in ("name", "value")
        }


RawParameterFormSet = forms.formset_factory(
    RawParameterForm,
    formset=_Rows,
    extra=0,
    max_num=RAW_PARAMETER_CAPACITY,
    absolute_max=RAW_PARAMETER_CAPACITY,
    validate_max=True,
)


# --- typed parameters -------------------------------------------------------------------------


def _typed_field(spec: ParameterSpec) -> forms.Field:
    if spec.kind == "choice":
        return LooseChoiceField(label=spec.label, help_text=spec.help)
    if spec.kind == "int":
        return text(label=spec.label, help_text=spec.help)
    return CommaListField(label=spec.label, help_text=spec.help)


_TYPED_FIELDS: dict[tuple[str, str], forms.Field] = {
    (control.name, name): _typed_field(parameter)
    for control in CONTROLS.values()
    for name, parameter in control.parameters.items()
}
#: One reader per catalogue parameter name (a name means the same kind of value in every
#: control that has it), for typed values left over from a control chosen before.
_READERS: dict[str, forms.Field] = {}
for _control in CONTROLS.values():
    for _name, _parameter in _control.parameters.items():
        _READERS.setdefault(_name, _typed_field(_parameter))


def typed_fits(spec: ParameterSpec, value: str) -> bool:
    """Whether a typed field shows ``value`` exactly; if not, it goes to a raw row instead."""
    if value == "" or single_line(value) != value:
        return False
    if spec.kind.endswith("_list"):
        items = value.split(",")
        return lines(items) == items
    return True


class TypedParameter:
    """A catalogue parameter of the chosen control, as the template draws it."""

    def __init__(self, form: ControlForm, spec: ParameterSpec) -> None:
        key = f"p_{spec.name}"
        self.spec = spec
        self.name = form.add_prefix(key)
        self.value = form[key].value() or ""
        self.slot = form.slots[key]
        self.invalid = form.erring(key)
        self.kind = "list" if spec.kind.endswith("_list") else spec.kind

    def label(self) -> SafeString:
        return label(self.name, self.spec.label, self.spec.name)

    def input(self) -> SafeString:
        if self.kind == "choice":
            absent = f"Not set (AWS uses {self.spec.default})" if self.spec.default else "Not set"
            choices = [("", absent), *((choice, choice) for choice in self.spec.choices)]
            return select(self.name, options(choices, self.value), invalid=self.invalid)
        if self.kind == "list":
            return textarea(self.name, self.value, invalid=self.invalid)
        return text_input(self.name, self.value, numeric=True, invalid=self.invalid)


# --- one control ------------------------------------------------------------------------------


@share_fields
class ControlForm(FeedbackForm):
    """One control: which one, its typed parameters, raw name/value pairs, and its scope."""

    name = LooseChoiceField(label="Control")
    scope_kind = forms.ChoiceField(
        label="Applies to", choices=list(SCOPE_KIND_LABELS.items()), required=False
    )
    resource_types = LooseMultipleChoiceField(label="Resource types")
    resource_type = LooseChoiceField(label="Resource type")
    resource_ids = LinesField(label="Resource IDs, one per line")
    tag_key = text(label="Tag key")
    tag_value = text(label="Tag value")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.control_name = self._given("name") or ""
        self.spec: ControlSpec | None = CONTROLS.get(self.control_name)
        for name in self.spec.parameters if self.spec else ():
            self.fields[f"p_{name}"] = _TYPED_FIELDS[(self.control_name, name)]
        self.params = RawParameterFormSet(
            self.data if self.is_bound else None,
            prefix=self.add_prefix("params"),
            initial=None if self.is_bound else self.initial.get("raw", []),
            form_kwargs={"empty_permitted": False},
        )
        # False when the browser dropped the row (removed with htmx): the formset skips it.
        self.submitted = not self.is_bound or self.add_prefix("name") in self.data

    def _given(self, field: str) -> str | None:
        if self.is_bound:
            return self.data.get(self.add_prefix(field))
        return self.initial.get(field)

    def is_valid(self) -> bool:
        if not self.submitted:
            return True
        return super().is_valid() and self.params.is_valid()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Typed values of the control chosen before a switch (the browser still sends them):
        # kept as parameters, so nothing typed is lost; the core then says they do not belong.
        for name, reader in _READERS.items():
            key = f"p_{name}"
            if key not in self.fields:
                raw = self.data.get(self.add_prefix(key))
                if raw:
                    cleaned[key] = reader.clean(raw)
        return cleaned

    # --- the document ---

    def values(self) -> Mapping[str, Any]:
        return self.cleaned_data if self.is_bound else self.initial

    def raw_rows(self) -> list[RawParameterForm]:
        return [row for row in self.params.forms if row.submitted]

    def api_control(self) -> dict[str, Any]:
        """The control as written, in the API form."""
        values = self.values()
        item: dict[str, Any] = {"ControlName": values.get("name") or ""}
        own = list(self.spec.parameters) if self.spec else []
        parameters = [
            {"ParameterName": name, "ParameterValue": values[f"p_{name}"]}
            for name in [*own, *(n for n in _READERS if n not in own)]
            if values.get(f"p_{name}")
        ]
        parameters.extend(filter(None, (row.values() for row in self.raw_rows())))
        if parameters:
            item["ControlInputParameters"] = parameters
        scope = scope_api(values)
        if scope is not None:
            item["ControlScope"] = scope
        return item

    # --- drawing ---

    def typed(self) -> list[TypedParameter]:
        specs = self.spec.parameters.values() if self.spec else ()
        return [TypedParameter(self, spec) for spec in specs]

    def picker(self) -> SafeString:
        return control_options(self.control_name)

    def params_management(self) -> SafeString:
        """The raw rows' management form (what ``{{ formset.management_form }}`` draws), in
        an element the htmx "add a parameter" answer replaces."""
        prefix = self.params.prefix or ""
        return management(f"mgmt-{prefix}", prefix, self.params.total_form_count())

    def scope_kind_value(self) -> str:
        return self._given("scope_kind") or SCOPE_ALL

    def kind_radios(self) -> SafeString:
        """The kinds this control accepts, and the current one even if it does not."""
        current = self.scope_kind_value()
        accepted = self.spec.scope_kinds if self.spec else {SCOPE_TYPES, SCOPE_TAG, SCOPE_RESOURCE}
        kinds = [SCOPE_ALL, *(k for k in (SCOPE_TYPES, SCOPE_TAG, SCOPE_RESOURCE) if k in accepted)]
        if current not in kinds and current in SCOPE_KIND_LABELS:
            kinds.append(current)
        choices = [(kind, SCOPE_KIND_LABELS[kind], kind == current) for kind in kinds]
        return radios(self.add_prefix("scope_kind"), choices)

    @property
    def inputs(self) -> Inputs:
        """The scope's inputs, each built when the template asks (only the chosen kind's are
        drawn)."""
        return Inputs(
            tag_key=lambda: text_input(
                self.add_prefix("tag_key"), self["tag_key"].value(), invalid=self.erring("tag_key")
            ),
            tag_value=lambda: text_input(
                self.add_prefix("tag_value"),
                self["tag_value"].value(),
                invalid=self.erring("tag_value"),
            ),
            resource_ids=lambda: textarea(
                self.add_prefix("resource_ids"),
                self["resource_ids"].value(),
                invalid=self.erring("resource_ids"),
            ),
            resource_types=lambda: type_checkboxes(
                self.add_prefix("resource_types"), self["resource_types"].value() or []
            ),
            resource_type=self._resource_type,
        )

    def _resource_type(self) -> SafeString:
        if self.spec and self.spec.resource_scope_types:
            known = self.spec.resource_scope_types
        elif self.spec and self.spec.resource_id_label == "backup plan ID":
            known = (BACKUP_PLAN_TYPE,)
        else:
            known = RESOURCE_TYPES
        choices = [("", "Choose a type"), *((value, value) for value in known)]
        current = self._given("resource_type") or ""
        invalid = self.erring("resource_type")
        return select(self.add_prefix("resource_type"), options(choices, current), invalid=invalid)


class Inputs(Mapping[str, SafeString]):
    """``{{ form.inputs.tag_key }}``: builds only the input asked for."""

    def __init__(self, **builders: Callable[[], SafeString]) -> None:
        self.builders = builders

    def __getitem__(self, key: str) -> SafeString:
        return self.builders[key]()

    def __iter__(self) -> Iterator[str]:
        return iter(self.builders)

    def __len__(self) -> int:
        return len(self.builders)


def scope_api(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ControlScope the scope fields describe; None for all resources.

    A kind chosen but left blank is still written (an empty tag, an empty list), so the core
    points at what is missing instead of the control silently covering everything.
    """
    kind = values.get("scope_kind") or SCOPE_ALL
    scope: dict[str, Any] = {}
    if kind in (SCOPE_TYPES, SCOPE_TYPES_TAG):
        scope["ComplianceResourceTypes"] = list(values.get("resource_types") or [])
    if kind in (SCOPE_TAG, SCOPE_TYPES_TAG):
        scope["Tags"] = {values.get("tag_key") or "": values.get("tag_value") or ""}
    if kind == SCOPE_RESOURCE:
        resource_type = values.get("resource_type") or ""
        scope["ComplianceResourceTypes"] = [resource_type] if resource_type else []
        scope["ComplianceResourceIds"] = list(values.get("resource_ids") or [])
    return scope or None


def control_initial(control: document.Control) -> dict[str, Any]:
    """A parsed control as a row's initial values, as the browser will post them back.

    The first value of each catalogue parameter goes to its typed field when the field can
    show it exactly; everything else (unknown names, repeats, empty values) to raw rows.
    """
    spec = CONTROLS.get(control.name)
    initial: dict[str, Any] = {"name": control.name, "raw": []}
    for parameter in control.parameters:
        parameter_spec = spec.parameters.get(parameter.name) if spec else None
        key = f"p_{parameter.name}"
        if parameter_spec and key not in initial and typed_fits(parameter_spec, parameter.value):
            initial[key] = parameter.value
        else:
            raw = {"name": single_line(parameter.name), "value": single_line(parameter.value)}
            initial["raw"].append(raw)
    initial.update(scope_initial(control.scope))
    return initial


def scope_initial(scope: document.Scope | None) -> dict[str, Any]:
    if scope is None:
        return {"scope_kind": SCOPE_ALL}
    ids, types, tags = scope.resource_ids, scope.resource_types, scope.tags or {}
    tag_key, tag_value = next(iter(tags.items()), ("", ""))
    values: dict[str, Any] = {"tag_key": single_line(tag_key), "tag_value": single_line(tag_value)}
    if ids is not None:
        values["scope_kind"] = SCOPE_RESOURCE
        values["resource_type"] = types[0] if types else ""
        values["resource_ids"] = lines(ids)
    elif types is not None:
        values["scope_kind"] = SCOPE_TYPES_TAG if tags else SCOPE_TYPES
        values["resource_types"] = list(dict.fromkeys(types))
    else:
        values["scope_kind"] = SCOPE_TAG if tags else SCOPE_ALL
    return values


class ControlRows(_Rows):
    def submitted_forms(self) -> list[ControlForm]:
        return [form for form in self.forms if form.submitted]


ControlFormSet = forms.formset_factory(ControlForm, formset=ControlRows, extra=0, validate_max=True)


def control_formset(
    data: QueryDict | None = None, *, initial: list[dict[str, Any]] | None = None
) -> ControlRows:
    """The controls formset, as large as the settings let a posted form be."""
    # formset_factory's class is a ControlRows; the stubs only know it as a BaseFormSet.
    formset = cast(
        ControlRows,
        ControlFormSet(
            data, initial=initial, prefix="controls", form_kwargs={"empty_permitted": False}
        ),
    )
    formset.max_num = formset.absolute_max = control_capacity()
    return formset
