"""The semantic diff: what a reviewer reads before approving a change."""

from __future__ import annotations

import copy
from typing import Any

from frameworks.document import Change, diff, diff_text, parse

from .builders import (
    DELETION,
    ENCRYPTED,
    FREQUENCY,
    LAST_POINT,
    PROTECTED,
    RETENTION,
    control,
    framework,
)
from .test_normalise_hash import DESCRIBED, WRITTEN

BASE = framework(
    control(RETENTION, requiredRetentionDays="35"),
    control(
        FREQUENCY,
        {"Tags": {"Environment": "prod"}},
        requiredFrequencyUnit="hours",
        requiredFrequencyValue="12",
        requiredRetentionDays="35",
    ),
    control(PROTECTED, {"ComplianceResourceTypes": ["EBS"]}),
    FrameworkDescription="Production backups",
)


def changed(mutate: Any) -> list[Change]:
    proposed = copy.deepcopy(BASE)
    mutate(proposed)
    return diff(parse(BASE), parse(proposed))


def summary(changes: list[Change]) -> list[tuple[str, str, str | None, str | None]]:
    return [(c.kind, c.path, c.old, c.new) for c in changes]


def test_the_same_document_has_no_changes() -> None:
    assert diff(parse(BASE), parse(copy.deepcopy(BASE))) == []
    assert diff_text([]) == "No changes."


def test_reordering_is_no_change() -> None:
    def reorder(data: dict[str, Any]) -> None:
        data["FrameworkControls"].reverse()
        data["FrameworkControls"][1]["ControlInputParameters"].reverse()

    assert changed(reorder) == []


def test_a_describe_answer_shows_no_change_from_its_document() -> None:
    assert diff(parse(WRITTEN), parse(DESCRIBED)) == []


def test_a_description_change_is_one_sentence() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["FrameworkDescription"] = "All production backups"

    (change,) = changed(edit)
    assert summary([change]) == [
        ("description_changed", "description", "Production backups", "All production backups")
    ]
    assert change.text == (
        "Change the description from “Production backups” to “All production backups”."
    )


def test_a_removed_description_and_an_added_one() -> None:
    (removed,) = changed(lambda data: data.pop("FrameworkDescription"))
    assert removed.text == "Remove the description (was “Production backups”)."
    no_description = {k: v for k, v in BASE.items() if k != "FrameworkDescription"}
    (added,) = diff(parse(no_description), parse(BASE))
    assert added.text == "Set the description to “Production backups”."


def test_a_parameter_change_says_old_new_and_what_it_means() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["FrameworkControls"][1]["ControlInputParameters"][1]["ParameterValue"] = "24"

    (change,) = changed(edit)
    assert (change.kind, change.path, change.control, change.parameter) == (
        "parameter_changed",
        "controls[1].parameters.requiredFrequencyValue",
        FREQUENCY,
        "requiredFrequencyValue",
    )
    assert change.text == (
        "“Backup plan minimum frequency and minimum retention”: change requiredFrequencyValue "
        "from 12 to 24 (Backups at least every 24 hours)."
    )


def test_parameters_added_and_removed() -> None:
    def edit(data: dict[str, Any]) -> None:
        parameters = data["FrameworkControls"][1]["ControlInputParameters"]
        data["FrameworkControls"][1]["ControlInputParameters"] = parameters[:2]
        data["FrameworkControls"][0]["ControlInputParameters"] = []

    changes = changed(edit)
    assert summary(changes) == [
        ("parameter_removed", "controls[0].parameters.requiredRetentionDays", "35", None),
        ("parameter_removed", "controls[1].parameters.requiredRetentionDays", "35", None),
    ]
    assert changes[0].text == (
        "“Minimum retention established for recovery point”: remove requiredRetentionDays "
        "(was 35) (AWS uses 35 days)."
    )
    (added,) = diff(
        parse(framework(control(LAST_POINT))),
        parse(framework(control(LAST_POINT, recoveryPointAgeValue="2"))),
    )
    assert added.text == (
        "“Last recovery point was created”: set recoveryPointAgeValue to 2 "
        "(A recovery point created in the last 2 days)."
    )


def test_a_scope_change_is_described_in_words() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["FrameworkControls"][2]["ControlScope"] = {"Tags": {"Environment": "prod"}}

    (change,) = changed(edit)
    assert summary([change]) == [
        (
            "scope_changed",
            "controls[2].scope",
            "Only EBS resources",
            "Only resources tagged Environment = prod",
        )
    ]
    assert change.text == (
        "“Backup resources are protected by a backup plan”: change the scope from "
        "“Only EBS resources” to “Only resources tagged Environment = prod”."
    )


def test_controls_added_and_removed() -> None:
    def edit(data: dict[str, Any]) -> None:
        del data["FrameworkControls"][0]
        data["FrameworkControls"].append(control(ENCRYPTED, {"Tags": {"Environment": "prod"}}))

    changes = changed(edit)
    assert [(c.kind, c.path, c.control) for c in changes] == [
        ("control_added", "controls[2]", ENCRYPTED),
        ("control_removed", "controls[0]", RETENTION),
    ]
    assert changes[0].text == (
        "Add the control “Recovery points are encrypted”: Only resources tagged Environment = prod."
    )
    assert changes[1].text == (
        "Remove the control “Minimum retention established for recovery point” "
        "(was: All resources the control applies to; Recovery points kept for at least 35 days)."
    )


def test_a_repeated_control_is_matched_by_scope() -> None:
    base = framework(
        control(ENCRYPTED, {"Tags": {"env": "prod"}}),
        control(ENCRYPTED, {"Tags": {"env": "dev"}}),
    )
    proposed = framework(
        control(ENCRYPTED, {"Tags": {"env": "dev"}}),
        control(ENCRYPTED, {"Tags": {"env": "test"}}),
    )
    (change,) = diff(parse(base), parse(proposed))
    assert (change.kind, change.path, change.old, change.new) == (
        "scope_changed",
        "controls[1].scope",
        "Only resources tagged env = prod",
        "Only resources tagged env = test",
    )
    assert change.label == "Recovery points are encrypted, only resources tagged env = test"


def test_repeated_controls_with_parameters_are_matched_by_scope_first() -> None:
    base = framework(
        control(RETENTION, {"Tags": {"env": "prod"}}, requiredRetentionDays="35"),
        control(RETENTION, {"Tags": {"env": "dev"}}, requiredRetentionDays="7"),
    )
    proposed = framework(
        control(RETENTION, {"Tags": {"env": "dev"}}, requiredRetentionDays="14"),
        control(RETENTION, {"Tags": {"env": "prod"}}, requiredRetentionDays="35"),
    )
    (change,) = diff(parse(base), parse(proposed))
    assert summary([change]) == [
        ("parameter_changed", "controls[0].parameters.requiredRetentionDays", "7", "14")
    ]


def test_a_new_framework_lists_everything_it_adds() -> None:
    changes = diff(None, parse(BASE))
    assert [c.kind for c in changes] == [
        "framework_created",
        "description_changed",
        "control_added",
        "control_added",
        "control_added",
    ]
    assert changes[0].text == "Create the framework test_framework."


def test_a_deleted_framework_lists_what_it_removes() -> None:
    changes = diff(parse(BASE), None)
    assert [c.kind for c in changes] == [
        "framework_deleted",
        "control_removed",
        "control_removed",
        "control_removed",
    ]
    assert changes[0].text == "Delete the framework test_framework."
    assert diff(None, None) == []


def test_framework_tags_are_a_change_after_the_controls() -> None:
    before = copy.deepcopy(BASE)
    before["FrameworkTags"] = {"Owner": "backup-team", "CostCentre": "42", "Old": "x"}
    after = copy.deepcopy(BASE)
    after["FrameworkTags"] = {"CostCentre": "43", "Owner": "backup-team", "DataClass": ""}
    assert [c.text for c in diff(parse(before), parse(after))] == [
        "Change the framework tag CostCentre from “42” to “43”.",
        "Add the framework tag DataClass = “”.",
        "Remove the framework tag Old (was “x”).",
    ]


def test_a_document_without_tags_leaves_them_alone() -> None:
    tagged = copy.deepcopy(BASE)
    tagged["FrameworkTags"] = {"Owner": "backup-team"}
    assert diff(parse(tagged), parse(BASE)) == []


def test_diff_text_is_one_line_per_change() -> None:
    base = parse(framework(control(DELETION)))
    proposed = parse(
        framework(
            control(DELETION, principalArnList="arn:aws:iam::111122223333:role/A"),
            FrameworkDescription="Vaults",
        )
    )
    assert diff_text(diff(base, proposed)) == (
        "- Set the description to “Vaults”.\n"
        "- “Vaults prevent manual deletion of recovery points”: set principalArnList to "
        "arn:aws:iam::111122223333:role/A (Only these may delete recovery points by hand: "
        "arn:aws:iam::111122223333:role/A)."
    )
