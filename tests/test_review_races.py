"""Races on PostgreSQL: real threads, released together by a barrier, each on its own database
connection. Whatever the interleaving, exactly one of two competing transitions wins, the
other is refused, and the history says the same.

To make every round a real race, the threads also wait for each other right after they have
read the change (a second barrier, around the services' ``load``): both decide on the same
version of the row, so only the guard (the conditional UPDATE on the version, or the unique
index on open changes) can stop the second one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection

from frameworks import services, tasks
from frameworks.models import Approval, ChangeRequest, ChangeState, Event, HistoryEvent, Outcome
from frameworks.services import base as services_base
from tests.factories import make_target
from tests.review_builders import draft, live_framework, submitted, user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 10


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(tasks.apply_change, "delay", lambda change_id: sent.append(change_id))
    return sent


@pytest.fixture
def read_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads calling a service both finish reading the change before either writes."""
    barrier = threading.Barrier(2)
    real_load = services_base.load

    def load(call: Any, change_id: int) -> ChangeRequest:
        change = real_load(call, change_id)
        if threading.current_thread() is not threading.main_thread():  # racers only
            barrier.wait(timeout=10)
        return change

    monkeypatch.setattr(services_base, "load", load)


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, all released at once; their results or exceptions."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def winners(results: list[Any]) -> list[Any]:
    refused = [r for r in results if isinstance(r, services.TransitionRefused)]
    others = [r for r in results if isinstance(r, Exception) and r not in refused]
    assert others == [], others
    return [r for r in results if not isinstance(r, Exception)]


def events(change: ChangeRequest, *names: str) -> list[tuple[str, str]]:
    return [
        (row.event, row.outcome)
        for row in HistoryEvent.objects.filter(change_request_id=change.pk, event__in=names)
    ]


def test_two_approvers_at_once_on_a_change_needing_one_approval(read_together, enqueued):
    target = make_target("prod-eu")
    author, alice, abe = user("erin", "editor"), user("alice", "approver"), user("abe", "approver")
    for round_ in range(ROUNDS):
        change = submitted(author, live_framework(target, f"fw{round_}"))

        approve = partial(
            services.change_request_approve, change_id=change.pk, content_hash=change.review_hash
        )
        results = race(partial(approve, user=alice), partial(approve, user=abe))

        assert len(winners(results)) == 1, f"round {round_}: {results}"
        change.refresh_from_db()
        assert change.state == ChangeState.APPROVED
        assert change.version == 3  # submitted at 2, approved once
        assert Approval.objects.filter(change_request=change).count() == 1
        assert events(change, Event.APPROVED, Event.REFUSED) in (
            [(Event.APPROVED, Outcome.OK), (Event.REFUSED, Outcome.REFUSED)],
            [(Event.REFUSED, Outcome.REFUSED), (Event.APPROVED, Outcome.OK)],
        )
    assert sorted(enqueued) == sorted(
        ChangeRequest.objects.filter(state=ChangeState.APPROVED).values_list("pk", flat=True)
    )


def test_two_submits_for_one_framework(enqueued):
    target = make_target("prod-eu")
    erin, eddie = user("erin", "editor"), user("eddie", "editor")
    for round_ in range(ROUNDS):
        framework = live_framework(target, f"fw{round_}")
        first, second = draft(erin, framework), draft(eddie, framework)

        results = race(
            partial(services.change_request_submit, user=erin, change_id=first.pk, reason="a"),
            partial(services.change_request_submit, user=eddie, change_id=second.pk, reason="b"),
        )

        assert len(winners(results)) == 1, f"round {round_}: {results}"
        (winner,) = winners(results)
        (loser,) = [r for r in results if isinstance(r, Exception)]
        assert loser.code == "already_open", f"round {round_}: {loser}"
        states = sorted(
            ChangeRequest.objects.filter(pk__in=[first.pk, second.pk]).values_list(
                "state", flat=True
            )
        )
        assert states == [ChangeState.DRAFT, ChangeState.SUBMITTED]
        rows = list(
            HistoryEvent.objects.filter(
                change_request_id__in=[first.pk, second.pk],
                event__in=[Event.SUBMITTED, Event.REFUSED],
            )
        )
        assert sorted((r.change_request_id, r.event) for r in rows) == sorted(
            [
                (winner.pk, Event.SUBMITTED),
                ({first.pk, second.pk}.difference({winner.pk}).pop(), Event.REFUSED),
            ]
        )


def test_withdraw_against_approve(read_together, enqueued):
    target = make_target("prod-eu")
    author, alice = user("erin", "editor"), user("alice", "approver")
    outcomes = set()
    for round_ in range(ROUNDS):
        change = submitted(author, live_framework(target, f"fw{round_}"))

        results = race(
            partial(
                services.change_request_approve,
                user=alice,
                change_id=change.pk,
                content_hash=change.review_hash,
            ),
            partial(services.change_request_withdraw, user=author, change_id=change.pk),
        )

        assert len(winners(results)) == 1, f"round {round_}: {results}"
        change.refresh_from_db()
        assert change.state in (ChangeState.APPROVED, ChangeState.WITHDRAWN)
        outcomes.add(change.state)
        ok = [e for e, o in events(change, Event.APPROVED, Event.WITHDRAWN) if o == Outcome.OK]
        assert ok == [Event.APPROVED if change.state == ChangeState.APPROVED else Event.WITHDRAWN]
        assert len(events(change, Event.REFUSED)) == 1
        approvals = Approval.objects.filter(change_request=change).count()
        assert approvals == (1 if change.state == ChangeState.APPROVED else 0)
    # Only an approved change that won its race was handed to the worker.
    assert sorted(enqueued) == sorted(
        ChangeRequest.objects.filter(state=ChangeState.APPROVED).values_list("pk", flat=True)
    )
