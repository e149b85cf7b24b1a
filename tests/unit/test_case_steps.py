"""Step limits of a case, through the case projection with the real policy and calendar (no I/O).

Petitions: routing and acceptance within 15 (calendar) days of receipt, 复查/复核 decisions within 30 days
of the request. A step done late is a step overrun (red for good); a step still pending has a limit,
``step_due_at``, that the ``case_status`` view compares with the wall clock. Also: a suspension that a
re-assignment ends (no ``case.resumed``) lets the clock run again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from events.catalog import Event
from events.codec import event_from_dict
from projections.base import fold
from projections.calendar import WorkCalendar
from projections.case_deadlines import CaseDeadlines
from projections.case_status import CaseStatusProjection
from projections.deadlines import SHANGHAI
from projections.policy import load_policy
from tests.factories import envelope

LETTER = {"channel": "letter", "category": "征地拆迁", "summary": "补偿争议", "region": "新华区"}
HOTLINE = {"channel": "hotline_12345", "category": "市容环境", "summary": "占道经营"}
NOW = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def proj() -> CaseStatusProjection:
    return CaseStatusProjection(CaseDeadlines(load_policy(), WorkCalendar.load()))


def at(m: int, d: int, hh: int = 10) -> dt.datetime:
    return dt.datetime(2026, m, d, hh, tzinfo=SHANGHAI)


def ev(i: int, type_: str, t: dt.datetime, data: Mapping[str, object] | None = None) -> Event:
    return event_from_dict(envelope(f"s{i}", type_, "C1", t, dict(data or {})))


def row(proj: CaseStatusProjection, events: list[Event]) -> dict[str, object]:
    state = fold(proj, "C1", events)
    return dict(zip(proj.columns, proj.row(state, NOW), strict=True))


def end_of(m: int, d: int) -> dt.datetime:
    """The end (24:00) of 2026-m-d in Asia/Shanghai."""
    return dt.datetime(2026, m, d, tzinfo=SHANGHAI) + dt.timedelta(days=1)


def test_a_petition_waiting_for_acceptance_has_the_15_day_limit_pending(proj: CaseStatusProjection) -> None:
    # Received Monday 2 March; day 1 is 3 March, day 15 is Tuesday 17 March (a working day).
    r = row(proj, [ev(1, "case.received", at(3, 2), LETTER)])
    assert r["step_due_at"] == end_of(3, 17)
    assert r["due_at"] is None  # the handling clock starts at acceptance
    assert r["step_overrun"] is False


def test_the_limit_ends_on_the_next_working_day_after_a_rest_day(proj: CaseStatusProjection) -> None:
    # Received Friday 18 September: day 15 is Saturday 3 October, inside the National Day holiday (1–7
    # October 2026), so the period ends on Thursday 8 October, the next working day.
    r = row(proj, [ev(1, "case.received", at(9, 18), LETTER)])
    assert r["step_due_at"] == end_of(10, 8)


def test_accepted_but_not_routed_keeps_the_routing_limit(proj: CaseStatusProjection) -> None:
    events = [ev(1, "case.received", at(3, 2), LETTER), ev(2, "case.accepted", at(3, 5))]
    r = row(proj, events)
    assert r["step_due_at"] == end_of(3, 17)  # routing, also 15 days from receipt
    assert r["due_at"] is not None


def test_accepted_and_routed_in_time_leaves_nothing_pending(proj: CaseStatusProjection) -> None:
    events = [
        ev(1, "case.received", at(3, 2), LETTER),
        ev(2, "case.accepted", at(3, 5)),
        ev(3, "case.assigned", at(3, 6), {"department": "市信访局"}),
    ]
    r = row(proj, events)
    assert r["step_due_at"] is None
    assert r["step_overrun"] is False


def test_acceptance_after_the_limit_is_a_step_overrun(proj: CaseStatusProjection) -> None:
    events = [
        ev(1, "case.received", at(3, 2), LETTER),
        ev(2, "case.accepted", at(3, 18)),  # one day late
        ev(3, "case.assigned", at(3, 18, 11), {"department": "市信访局"}),
    ]
    r = row(proj, events)
    assert r["step_overrun"] is True
    assert r["step_due_at"] is None


def test_a_rejected_petition_has_nothing_pending(proj: CaseStatusProjection) -> None:
    events = [
        ev(1, "case.received", at(3, 2), LETTER),
        ev(2, "case.rejected", at(3, 4), {"reason": "不属于"}),
    ]
    assert row(proj, events)["step_due_at"] is None


def _handled_letter() -> list[Event]:
    return [
        ev(1, "case.received", at(3, 2), LETTER),
        ev(2, "case.accepted", at(3, 5)),
        ev(3, "case.assigned", at(3, 6), {"department": "市信访局"}),
        ev(4, "case.resolved", at(4, 10), {"department": "市信访局", "outcome": "explained"}),
        ev(5, "case.closed", at(4, 11)),
    ]


def test_a_requested_review_is_pending_on_a_closed_case_until_decided(proj: CaseStatusProjection) -> None:
    # 复查 requested Monday 4 May: day 30 is Wednesday 3 June.
    requested = [*_handled_letter(), ev(6, "case.review_requested", at(5, 4), {"level": "review"})]
    r = row(proj, requested)
    assert r["status"] == "closed"
    assert r["step_due_at"] == end_of(6, 3)
    decided = [*requested, ev(7, "case.review_decided", at(5, 20), {"level": "review", "decision": "upheld"})]
    r = row(proj, decided)
    assert r["step_due_at"] is None
    assert r["step_overrun"] is False


def test_a_review_decided_late_is_a_step_overrun(proj: CaseStatusProjection) -> None:
    events = [
        *_handled_letter(),
        ev(6, "case.review_requested", at(5, 4), {"level": "review"}),
        ev(7, "case.review_decided", at(6, 4), {"level": "review", "decision": "changed"}),
    ]
    assert row(proj, events)["step_overrun"] is True


def test_a_second_review_counts_from_its_own_request(proj: CaseStatusProjection) -> None:
    events = [
        *_handled_letter(),
        ev(6, "case.review_requested", at(5, 4), {"level": "review"}),
        ev(7, "case.review_decided", at(5, 20), {"level": "review", "decision": "upheld"}),
        ev(8, "case.review_requested", at(6, 1), {"level": "re_review"}),  # day 30: 1 July
    ]
    r = row(proj, events)
    assert r["review_level"] == "re_review"
    assert r["step_due_at"] == end_of(7, 1)


def test_hotline_cases_have_no_pending_steps(proj: CaseStatusProjection) -> None:
    assert row(proj, [ev(1, "case.received", at(3, 2), HOTLINE)])["step_due_at"] is None


def test_a_reassignment_ends_a_suspension_that_was_never_resumed(proj: CaseStatusProjection) -> None:
    base = [
        ev(1, "case.received", at(3, 2), HOTLINE),  # Monday; 5 working days: due end of Monday 9 March
        ev(2, "case.assigned", at(3, 2, 11), {"department": "市城管局"}),
        ev(3, "case.suspended", at(3, 3), {"reason": "征询第三方"}),
    ]
    suspended = row(proj, base)
    assert suspended["status"] == "suspended"
    assert suspended["due_at"] is None  # the clock is stopped while suspended
    reassigned = row(proj, [*base, ev(4, "case.assigned", at(3, 5), {"department": "市住建局"})])
    assert reassigned["status"] == "assigned"
    # Suspended on 3 March, running again on 5 March: two working days (4 and 5 March) did not count.
    assert reassigned["due_at"] == end_of(3, 11)
    assert reassigned["suspended_days"] == 2
    explicit = row(proj, [*base, ev(4, "case.resumed", at(3, 5)), ev(5, "case.assigned", at(3, 5, 11), {"department": "市住建局"})])  # fmt: skip
    assert explicit["due_at"] == reassigned["due_at"]


def test_a_late_review_stays_an_overrun_after_the_next_review_is_requested(
    proj: CaseStatusProjection,
) -> None:
    events = [
        *_handled_letter(),
        ev(6, "case.review_requested", at(5, 4), {"level": "review"}),
        ev(7, "case.review_decided", at(6, 4), {"level": "review", "decision": "upheld"}),  # one day late
        ev(8, "case.review_requested", at(6, 10), {"level": "re_review"}),  # day 30: 10 July
    ]
    r = row(proj, events)
    assert r["step_overrun"] is True
    assert r["step_due_at"] == end_of(7, 10)  # the 复核 is pending meanwhile


def test_a_decision_without_a_request_leaves_nothing_pending(proj: CaseStatusProjection) -> None:
    decided = ev(6, "case.review_decided", at(5, 4), {"level": "review", "decision": "upheld"})
    r = row(proj, [*_handled_letter(), decided])
    assert r["review_decision"] == "upheld" and r["step_due_at"] is None and r["step_overrun"] is False
