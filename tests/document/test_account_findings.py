"""Account-level checks: the quotas and the AlreadyExists rule."""

from __future__ import annotations

from typing import Any

from frameworks.document import (
    Document,
    account_findings,
    parse,
)

from .builders import (
    ENCRYPTED,
    LAST_POINT,
    PROTECTED,
    RETENTION,
    control,
    found,
    framework,
)

ROLE = "arn:aws:iam::111122223333:role/BackupAdmin"


# --- account --------------------------------------------------------------------------------


def make(name: str, *controls: dict[str, Any]) -> Document:
    return parse(framework(*controls, FrameworkName=name))


def test_the_framework_quota_counts_only_new_frameworks() -> None:
    others = [make(f"f{n}", control(ENCRYPTED, {"Tags": {"n": str(n)}})) for n in range(14)]
    new = make("new", control(PROTECTED))
    assert account_findings(new, others, is_new=True) == []
    assert found(
        account_findings(new, [*others, make("f14", control(LAST_POINT))], is_new=True)
    ) == {("", "account.too_many_frameworks", "error")}
    assert account_findings(new, others[:10], max_frameworks=11, is_new=True) == []
    assert found(account_findings(new, others[:11], max_frameworks=11, is_new=True)) == {
        ("", "account.too_many_frameworks", "error")
    }
    assert account_findings(new, [*others, make("f14", control(LAST_POINT))], is_new=False) == []


def test_the_control_quota_counts_across_frameworks() -> None:
    big = make("big", *[control(ENCRYPTED, {"Tags": {"n": str(n)}}) for n in range(49)])
    assert account_findings(make("new", control(PROTECTED)), [big], is_new=True) == []
    two = make("new", control(PROTECTED), control(LAST_POINT))
    findings = account_findings(two, [big], is_new=False)
    assert found(findings) == {("controls", "account.too_many_controls", "error")}
    assert findings[0].message == (
        "would bring the controls in this account and Region to 51; the quota is 50, "
        "counted across frameworks"
    )
    assert account_findings(two, [big], max_controls=51, is_new=False) == []


def test_a_framework_with_the_same_controls_and_parameters_already_exists() -> None:
    existing = make("a", control(RETENTION, requiredRetentionDays="35"), control(ENCRYPTED))
    same = make("b", control(ENCRYPTED), control(RETENTION, requiredRetentionDays="35"))
    findings = account_findings(same, [existing], is_new=True)
    assert found(findings) == {("controls", "account.same_controls", "error")}
    other_scope = make(
        "b",
        control(ENCRYPTED, {"Tags": {"a": "b"}}),
        control(RETENTION, requiredRetentionDays="35"),
    )
    assert found(account_findings(other_scope, [existing], is_new=True)) == {
        ("controls", "account.same_controls", "error")
    }
    different = make("b", control(ENCRYPTED), control(RETENTION, requiredRetentionDays="36"))
    assert account_findings(different, [existing], is_new=True) == []


def test_a_new_framework_cannot_take_an_existing_name() -> None:
    existing = make("a", control(ENCRYPTED))
    findings = account_findings(make("a", control(PROTECTED)), [existing], is_new=True)
    assert found(findings) == {("name", "account.name_taken", "error")}
