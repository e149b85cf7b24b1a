"""The case fold as a pure function, tested with plain lists of events."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

from events.catalog import Event
from events.codec import event_from_dict
from projections.base import fold
from projections.case_status import CaseStatusProjection
from tests.factories import TZ, case_stream, envelope

P = CaseStatusProjection()


def ev(
    i: int, type_: str, hours: int, data: Mapping[str, object] | None = None, subject: str = "C1"
) -> Event:
    t = dt.datetime(2026, 11, 2, 9, tzinfo=TZ) + dt.timedelta(hours=hours)
    return event_from_dict(envelope(f"e{i}", type_, subject, t, dict(data or {})))


RECEIVED = {"channel": "letter", "category": "征地拆迁", "summary": "补偿争议", "region": "新华区"}


def test_life_cycle_statuses_and_counts() -> None:
    events = [
        ev(1, "case.received", 0, RECEIVED),
        ev(2, "case.accepted", 1),
        ev(3, "case.assigned", 2, {"department": "市住建局"}),
        ev(4, "case.returned", 3, {"department": "市住建局", "reason": "非本单位职责"}),
        ev(5, "case.assigned", 4, {"department": "市自然资源局"}),
        ev(6, "case.suspended", 5, {"reason": "听证"}),
        ev(7, "case.resumed", 30),
        ev(8, "case.resolved", 40, {"department": "市自然资源局", "outcome": "explained"}),
        ev(9, "case.followed_up", 41, {"satisfaction": "dissatisfied"}),
        ev(10, "case.reopened", 42, {"reason": "不满意"}),
        ev(11, "case.resolved", 50, {"department": "市自然资源局", "outcome": "resolved"}),
        ev(12, "case.review_requested", 60, {"level": "review"}),
        ev(13, "case.review_decided", 70, {"level": "review", "decision": "upheld"}),
        ev(14, "case.closed", 80),
    ]
    s = fold(P, "C1", events)
    assert s.status == "closed"
    assert s.department == "市自然资源局"
    assert (s.return_count, s.reopen_count) == (1, 1)
    assert s.suspensions[0][1] is not None
    # the reopen started cycle 2, not followed up yet; cycle 1 keeps its rating (docs/deadlines.md)
    assert s.satisfaction is None and s.past_cycles[0].satisfaction == "dissatisfied"
    assert (s.review_level, s.review_decision) == ("review", "upheld")
    assert s.resolved_at == events[10].time
    assert s.event_count == 14


def test_suspend_and_resume_restore_previous_status() -> None:
    s = fold(
        P,
        "C1",
        [
            ev(1, "case.received", 0, RECEIVED),
            ev(2, "case.assigned", 1, {"department": "x"}),
            ev(3, "case.suspended", 2, {"reason": "r"}),
        ],
    )
    assert s.status == "suspended"
    s = P.apply(s, ev(4, "case.resumed", 3))
    assert s.status == "assigned"


def test_any_order_gives_the_in_order_result() -> None:
    events = case_stream(40, seed=3)
    by_case: dict[str, list[Event]] = {}
    for e in events:
        by_case.setdefault(e.subject, []).append(e)
    rng = random.Random(1)
    for case_id, evs in by_case.items():
        shuffled = evs[:]
        rng.shuffle(shuffled)
        assert fold(P, case_id, shuffled) == fold(P, case_id, evs)


def test_missing_intake_is_tolerated() -> None:
    s = fold(P, "C1", [ev(2, "case.assigned", 1, {"department": "市交通局"})])
    assert s.status == "assigned" and s.channel is None


def test_state_round_trips_through_json() -> None:
    evs = [e for e in case_stream(5) if e.subject == "C000001"]
    s = fold(P, "C000001", evs)
    assert P.load(P.dump(s)) == s
