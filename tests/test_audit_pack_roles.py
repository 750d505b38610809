"""The evidence pack's roles: who held which role at the start of the period, reconstructed from
the roles now and the access changes since, and every access change that took effect in it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from frameworks import services
from frameworks.models import AccessChange
from frameworks.queries.standing import changes_between, roles_at
from tests.audit_builders import signing_key
from tests.conftest import client_for
from tests.factories import grant, make_target, user
from tests.test_audit_pack import pack_of

pytestmark = pytest.mark.django_db


def confirmed_grant(asker, confirmer, person, role, target=None):
    change = services.role_grant(
        user=asker, person_id=person.pk, role=role, target_id=target.pk if target else None
    )
    assert change.state == "pending"  # a second administrator is there to confirm it
    return services.access_change_confirm(user=confirmer, change_id=change.pk)


@pytest.fixture
def world(settings, tmp_path, auditor):
    """Bob approver of prod before the period; during it: carol made editor everywhere, bob's
    role removed, dave deactivated, erin's grant declined, gina's account created, and a grant on
    another target."""
    signing_key(settings, tmp_path)
    prod, dev = make_target("prod-eu"), make_target("dev-eu")
    adam, alice = user("adam", "admin"), user("alice", "admin")
    bob, carol, dave, erin = user("bob"), user("carol"), user("dave"), user("erin")
    yesterday = timezone.now() - timedelta(days=1)
    before = confirmed_grant(adam, alice, bob, "approver", prod)
    AccessChange.objects.filter(pk=before.pk).update(created_at=yesterday, decided_at=yesterday)
    User.objects.update(date_joined=yesterday - timedelta(days=1))
    confirmed_grant(adam, alice, carol, "editor")
    services.role_remove(user=adam, person_id=bob.pk, role="approver", target_id=prod.pk)
    services.person_deactivate(user=adam, person_id=dave.pk)
    asked = services.role_grant(user=adam, person_id=erin.pk, role="auditor", target_id=prod.pk)
    services.access_change_decline(user=alice, change_id=asked.pk)
    created = services.person_create(
        user=adam, values={"username": "gina"}, password="a long temporary passphrase 7"
    )
    services.access_change_confirm(user=alice, change_id=created.pk)
    confirmed_grant(adam, alice, carol, "approver", dev)
    return {"prod": prod, "dev": dev}


def test_the_pack_shows_the_roles_at_the_start_and_each_change_of_the_period(world, auditor):
    pack = pack_of(client_for(auditor), ["prod-eu"])
    roles = json.loads(pack.read("roles.json"))
    at_start = roles["at_start"]
    assert at_start["every_target"] == [
        {"user": "adam", "role": "admin"},
        {"user": "alice", "role": "admin"},
        {"user": "aud", "role": "auditor"},
    ]
    assert at_start["per_target"] == [{"user": "bob", "role": "approver", "target": "prod-eu"}]
    assert at_start["inactive_accounts"] == [{"user": "gina", "state": "not yet created"}]
    now = roles["now"]
    assert now["every_target"] == [
        {"user": "adam", "role": "admin"},
        {"user": "alice", "role": "admin"},
        {"user": "aud", "role": "auditor"},
        {"user": "carol", "role": "editor"},
    ]
    assert now["per_target"] == []
    assert now["inactive_accounts"] == [{"user": "dave", "state": "inactive"}]
    changes = [
        (c["by"], c["kind"], c["user"], c["role"], c["where"], c["confirmed_by"])
        for c in roles["changes_during"]
    ]
    # The declined grant changed nothing; the grant on dev-eu is not one of the pack's targets.
    assert changes == [
        ("adam", "grant", "carol", "editor", "every target", "alice"),
        ("adam", "remove", "bob", "approver", "prod-eu", None),
        ("adam", "deactivate", "dave", "", "every target", None),
        ("adam", "create_user", "gina", "", "every target", "alice"),
    ]
    assert all(c["at"] for c in roles["changes_during"])
    assert roles["changes_since_end"] == []  # the period ends at midnight tonight
    # Each change is matched by the chained row that recorded it.
    recorded = {
        row["details"].get("access_change_id")
        for row in map(json.loads, pack.read("history.jsonl").splitlines())
    }
    assert {c["access_change_id"] for c in roles["changes_during"]} <= recorded
    assert "Django shell" in roles["note"] and "now and at the start" in roles["note"]
    # The declined request is still in the period's access events, for the reader.
    assert "access_declined" in {e["event"] for e in roles["access_events_during"]}

    summary = pack.read("summary.html").decode()
    start_table = summary.split("<h2>Roles at the start of the period</h2>")[1].split("<h2>")[0]
    assert "<td>bob</td><td>approver</td><td>prod-eu</td>" in start_table
    assert "carol" not in start_table and "gina (not yet created)" in start_table
    listed = summary.split("<h2>Access changes during the period</h2>")[1].split("<h2>")[0]
    assert listed.count("<li>") == 4
    assert "adam granted editor on every target to carol, confirmed by alice" in listed
    assert "adam removed approver on prod-eu from bob</li>" in listed
    assert "adam deactivated the account of dave</li>" in listed
    assert "erin" not in listed and "dev-eu" not in listed


def test_a_moment_between_changes_sees_the_earlier_ones_only(world):
    carol_editor = AccessChange.objects.get(subject__username="carol", group__name="editor")
    removal = AccessChange.objects.get(subject__username="bob", kind="remove")
    between = carol_editor.decided_at + (removal.decided_at - carol_editor.decided_at) / 2
    standing = roles_at([world["prod"], world["dev"]], between)
    assert {"user": "carol", "role": "editor"} in standing.every_target
    assert standing.per_target == [{"user": "bob", "role": "approver", "target": "prod-eu"}]
    assert standing.inactive == [{"user": "gina", "state": "not yet created"}]


def seed(count: int, targets) -> None:
    """`count` people with editor on a target before now, then each made approver, their
    editor role removed and their account deactivated."""
    adam, alice = User.objects.get(username="adam"), User.objects.get(username="alice")
    people = [grant(user(f"p{i}"), "editor", targets[i % 2]) for i in range(count)]
    User.objects.filter(username__startswith="p").update(
        date_joined=timezone.now() - timedelta(days=1)
    )
    for i, person in enumerate(people):
        target = targets[i % 2]
        confirmed_grant(adam, alice, person, "approver", target)
        services.role_remove(user=adam, person_id=person.pk, role="editor", target_id=target.pk)
        services.person_deactivate(user=adam, person_id=person.pk)


@pytest.mark.parametrize("count", [2, 12])
def test_the_reconstruction_takes_the_same_queries_at_any_size(
    world, count, django_assert_num_queries
):
    targets = [world["prod"], world["dev"]]
    start = timezone.now()
    seed(count, targets)
    with django_assert_num_queries(4):
        standing = roles_at(targets, start)
    held = [r for r in standing.per_target if r["user"].startswith("p")]
    assert len(held) == count and {r["role"] for r in held} == {"editor"}
    assert not any(a["user"].startswith("p") for a in standing.inactive)
    with django_assert_num_queries(1):
        changes = changes_between(targets, start, timezone.now())
    assert sum(c["user"].startswith("p") for c in changes) == 3 * count


def test_a_past_period_has_the_changes_since_its_end_too(world, auditor):
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    pack = pack_of(client_for(auditor), ["prod-eu"], since=yesterday, until=yesterday)
    roles = json.loads(pack.read("roles.json"))
    assert roles["at_start"]["per_target"] == []
    assert [(c["kind"], c["user"], c["confirmed_by"]) for c in roles["changes_during"]] == [
        ("grant", "bob", "alice")
    ]
    assert [c["user"] for c in roles["changes_since_end"]] == ["carol", "bob", "dave", "gina"]
