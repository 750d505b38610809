"""The editor's control row and raw-parameter row, written as HTML in Python.

A 50-control page draws some 3,000 values into these rows. Drawn by the template engine, each
value costs a variable lookup, a call and an escape, and the rows cost several times the whole
read-only framework page; the same markup written here with ``widgets.e`` costs a small part of
that. The page template keeps everything else and asks for a row with ``{% control_row form
urls %}`` (the page, the htmx fragments and the no-JS redraws alike), so this is the one place
the row's markup lives.

Every value is escaped here, except the inputs and slots the widgets built (already escaped).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.safestring import SafeString

from frameworks.forms.controls import ControlForm, RawParameterForm
from frameworks.forms.widgets import e

# The line breaks and indents between a row's parts, as the page template drew them when the
# rows were template partials (the page's HTML did not change when they moved here).
_FIELD = "\n        "
_RAW = "\n          "


def raw_row(row: RawParameterForm, urls: Mapping[str, str]) -> SafeString:
    """One parameter given by name and value, with its remove button."""
    r, inputs = e(row.prefix), row.inputs()
    remove = e(urls["remove_parameter"])
    return SafeString(
        f"""
          <div class="raw-row" id="row-{r}">
            <label class="inline">Name {inputs["name"]}</label>
            <label class="inline">Value {inputs["value"]}</label>
            <button type="submit" name="row" value="{r}" formaction="{remove}" \
hx-post="{remove}" hx-params="row" hx-target="closest .raw-row" hx-swap="outerHTML" \
aria-label="Remove this parameter">Remove</button>
            {row.slots["row"]}
          </div>
          """
    )


def control_row(form: ControlForm, urls: Mapping[str, str]) -> SafeString:
    """One control: its picker and tools, its parameters, and what it applies to."""
    p, kind, spec, slots = e(form.prefix), form.scope_kind_value(), form.spec, form.slots
    check, control = e(urls["check"]), e(urls["control"])
    move, remove = e(urls["move_control"]), e(urls["remove_control"])
    add_parameter = e(urls["add_parameter"])
    summary = f'<p class="help">{e(spec.summary)} <code>{e(spec.name)}</code></p>' if spec else ""
    return SafeString(
        f"""
    <li id="row-{p}" class="control-row card" hx-post="{check}" hx-trigger="change" \
hx-swap="none">
      <div class="row-head">
        <div class="field grow">
          <label for="id_{p}-name">Control</label>
          <select name="{p}-name" id="id_{p}-name" hx-post="{control}" \
hx-trigger="change consume" hx-target="closest li" hx-swap="outerHTML" \
aria-describedby="fb-{p}-name">{form.picker()}</select>
          {summary}
          {slots["name"]}
        </div>
        <div class="row-tools">
          <button type="submit" name="move" value="{p}:up" formaction="{move}" \
hx-post="{move}" hx-target="#controls" hx-swap="outerHTML" title="Move up" \
aria-label="Move this control up">↑</button>
          <button type="submit" name="move" value="{p}:down" formaction="{move}" \
hx-post="{move}" hx-target="#controls" hx-swap="outerHTML" title="Move down" \
aria-label="Move this control down">↓</button>
          <button type="submit" name="row" value="{p}" formaction="{remove}" \
hx-post="{remove}" hx-params="row" hx-target="closest li" hx-swap="outerHTML" \
class="danger">Remove control</button>
        </div>
      </div>
      {slots["row"]}
      <noscript><p><button type="submit" formaction="{control}">Show the fields for this \
choice</button></p></noscript>
      <fieldset class="params">
        <legend>Parameters</legend>
        {_typed(form)}
        <div id="raw-{p}" class="raw-rows">
          {form.params_management()}
          {"".join(f"{_RAW}{raw_row(row, urls)}{_RAW}" for row in form.raw_rows())}
        </div>
        <button type="submit" name="row" value="{p}" formaction="{add_parameter}" \
hx-post="{add_parameter}" hx-params="row,{p}-params-TOTAL_FORMS" hx-target="#raw-{p}" \
hx-swap="beforeend">Add a parameter by name</button>
        {slots["params"]}
      </fieldset>
      <fieldset class="scope">
        <legend>Applies to</legend>
        <div class="kinds" id="kinds-{p}" hx-post="{control}" hx-trigger="change consume" \
hx-target="closest li" hx-swap="outerHTML">
          {form.kind_radios()}
        </div>
        {slots["scope_kind"]}
        {_scope(form, kind)}
      </fieldset>
    </li>
    """
    )


def _typed(form: ControlForm) -> str:
    typed = form.typed()
    if not typed:
        none = '<p class="help">This control takes no parameters.</p>' if form.spec else ""
        return f"{none}{_FIELD}"
    return "".join(
        f"""
        <div class="field">
          {t.label()}
          {t.input()}
          <p class="help">{e(t.spec.help)}{" One per line." if t.kind == "list" else ""}</p>
          {t.slot}
        </div>
        """
        for t in typed
    )


def _scope(form: ControlForm, kind: str) -> str:
    """Only the chosen kind's fields: choosing another kind redraws the row."""
    p, slots, inputs = e(form.prefix), form.slots, form.inputs
    types = ""
    if kind in ("types", "types_tag"):
        types = f"""
        <fieldset class="scope-part">
          <legend>Resource types</legend>
          <div class="checks">{inputs["resource_types"]}</div>
          <p class="help">With no type ticked, the control covers every type it applies to.</p>
          {slots["resource_types"]}
        </fieldset>
        """
    part = ""
    if kind in ("tag", "types_tag"):
        part = f"""
        <div class="scope-part tag">
          <div class="field">
            <label for="id_{p}-tag_key">Tag key</label>
            {inputs["tag_key"]}
            {slots["tag_key"]}
          </div>
          <div class="field">
            <label for="id_{p}-tag_value">Tag value</label>
            {inputs["tag_value"]}
            {slots["tag_value"]}
          </div>
        </div>
        """
    elif kind == "resource":
        spec = form.spec
        ids = f"{e(_capfirst(spec.resource_id_label))}s" if spec else "Resource IDs"
        part = f"""
        <div class="scope-part">
          <div class="field">
            <label for="id_{p}-resource_type">Resource type</label>
            {inputs["resource_type"]}
            {slots["resource_type"]}
          </div>
          <div class="field">
            <label for="id_{p}-resource_ids">{ids}, one per line</label>
            {inputs["resource_ids"]}
            {slots["resource_ids"]}
          </div>
        </div>
        """
    return f"{_FIELD}{types}{_FIELD}{part}"


def _capfirst(text: str) -> str:
    return text[:1].upper() + text[1:]
