"""The supervision-order fold on plain lists of events: status, urgings, progress, out-of-order input."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest

from events.catalog import Event
from events.codec import event_from_dict
from projections.base import fold
from projections.deadlines import SHANGHAI
from projections.supervision import SupervisionProjection, SupervisionState, escalation_stage

P = SupervisionProjection()
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
_ids = itertools.count()


def ev(type_: str, data: dict[str, Any], hours: float, subject: str = "S1") -> Event:
    return event_from_dict(
        {
            "specversion": "1.0", "id": f"e{next(_ids):05d}", "source": "test/supervision",
            "type": f"supervision.{type_}", "subject": subject,
            "time": (T0 + dt.timedelta(hours=hours)).isoformat(), "data": data,
        }
    )  # fmt: skip


def issued(
    hours: float = 0, departments: tuple[str, ...] = ("市城管局", "市住建局"), subject: str = "S1", **kw: Any
) -> Event:
    data = {"title": "关于背街小巷路灯整治的督办通知", "issued_by": "市委督查室", "level": "office",
            "departments": list(departments), "due_date": "2026-03-13", **kw}  # fmt: skip
    return ev("issued", data, hours, subject)


def row(state: SupervisionState) -> dict[str, Any]:
    return dict(zip(P.columns, P.row(state, T0), strict=True))


def test_issued_order() -> None:
    s = fold(P, "S1", [issued(target_case_id="C000001")])
    r = row(s)
    assert r["order_id"] == "S1" and r["status"] == "issued" and r["level"] == "office"
    assert r["departments"] == ("市城管局", "市住建局")  # the PG adapter writes it as text[]
    assert r["due_date"] == dt.date(2026, 3, 13)
    assert r["due_at"] == dt.datetime(2026, 3, 14, tzinfo=SHANGHAI)  # 24:00 of the due date
    assert r["target_case_id"] == "C000001"
    assert (r["urge_count"], r["escalation_stage"], r["progress_percent"]) == (0, "none", None)
    assert r["issued_at"] == T0 and r["event_count"] == 1 and r["last_event_at"] == T0


def test_progress_is_the_mean_of_each_departments_latest_percent() -> None:
    events = [
        issued(),
        ev("progress_reported", {"department": "市城管局", "note": "推进中", "percent": 40}, 24),
        ev("progress_reported", {"department": "市城管局", "note": "推进中", "percent": 80}, 48),
        ev("progress_reported", {"department": "市住建局", "note": "已部署"}, 50),  # no percent
    ]
    s = fold(P, "S1", events)
    r = row(s)
    assert r["status"] == "in_progress"
    assert r["progress_percent"] == 40  # (80 + 0) / 2
    assert r["progress_reports"] == 3 and r["last_progress_at"] == T0 + dt.timedelta(hours=50)
    s = P.apply(s, ev("progress_reported", {"department": "市住建局", "note": "x", "percent": 50}, 60))
    assert row(s)["progress_percent"] == 65


def test_each_urging_raises_the_escalation_stage() -> None:
    s = fold(P, "S1", [issued()])
    stages = []
    for i in range(5):
        s = P.apply(s, ev("urged", {"note": f"第{i + 1}次催办"}, 100 + i))
        stages.append(row(s)["escalation_stage"])
    assert stages == ["blue", "orange", "red", "red", "red"]
    assert row(s)["urge_count"] == 5 and row(s)["last_urged_at"] == T0 + dt.timedelta(hours=104)
    assert [escalation_stage(n) for n in range(4)] == ["none", "blue", "orange", "red"]


def test_completion_and_cancellation() -> None:
    done = fold(
        P,
        "S1",
        [
            issued(lead_department="市城管局"),  # the lead (主办) completing completes the order
            ev("progress_reported", {"department": "市城管局", "note": "x", "percent": 30}, 5),
            ev("completed", {"department": "市城管局", "result": "已办结"}, 200),
            ev("progress_reported", {"department": "市住建局", "note": "late report"}, 210),
            ev("urged", {}, 220),
        ],
    )
    r = row(done)
    assert r["status"] == "completed" and r["completed_by"] == "市城管局"
    assert r["completed_at"] == T0 + dt.timedelta(hours=200) and r["progress_percent"] == 100
    assert r["urge_count"] == 1  # counted, but the order stays completed

    cancelled = fold(P, "S2", [issued(subject="S2"), ev("cancelled", {"reason": "情况变化"}, 30, "S2")])
    assert row(cancelled)["status"] == "cancelled"
    assert row(cancelled)["cancelled_at"] == T0 + dt.timedelta(hours=30)


def test_missing_predecessors_are_tolerated() -> None:
    s = fold(P, "S1", [ev("progress_reported", {"department": "市交通局", "note": "x", "percent": 20}, 5)])
    r = row(s)
    assert r["status"] == "in_progress" and r["progress_percent"] == 20
    assert r["title"] is None and r["due_at"] is None and r["departments"] is None
    assert row(fold(P, "S1", [ev("urged", {}, 1)]))["status"] is None  # no phantom order (issue 15)
    assert (
        row(fold(P, "S1", [ev("completed", {"department": "x", "result": "y"}, 1)]))["status"] == "completed"
    )
    # an issue event that sorts after progress (producer clock skew) keeps the later status
    s = fold(P, "S1", [ev("progress_reported", {"department": "市城管局", "note": "x"}, 1), issued(hours=2)])
    assert row(s)["status"] == "in_progress" and row(s)["title"] is not None


def test_any_arrival_order_folds_like_time_order() -> None:
    events = [
        issued(),
        ev("progress_reported", {"department": "市城管局", "note": "x", "percent": 30}, 10),
        ev("urged", {}, 20),
        ev("progress_reported", {"department": "市住建局", "note": "x", "percent": 60}, 30),
        ev("urged", {"note": "再次催办"}, 40),
        ev("completed", {"department": "市住建局", "result": "ok"}, 50),
    ]
    expected = fold(P, "S1", events)
    rng = random.Random(3)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert fold(P, "S1", shuffled) == expected


def test_dump_and_load_round_trip() -> None:
    s = fold(
        P,
        "S1",
        [
            issued(),
            ev("progress_reported", {"department": "市城管局", "note": "x", "percent": 30}, 10),
            ev("urged", {}, 20),
        ],
    )
    raw = P.dump(s)
    assert P.load(raw) == s
    assert P.load(P.dump(P.initial("S9"))) == P.initial("S9")


def test_without_a_lead_every_addressed_department_must_complete() -> None:
    """domain.md, 'Supervision orders': no lead named -> complete when every department has; one department
    finishing its part does not complete the order for the others."""
    first = [issued(), ev("completed", {"department": "市住建局", "result": "本部门部分已办结"}, 40)]
    r = row(fold(P, "S1", first))
    assert r["status"] == "in_progress" and r["completed_at"] is None and r["completed_by"] is None
    assert r["done_departments"] == ["市住建局"] and r["lead_department"] is None
    both = fold(P, "S1", [*first, ev("completed", {"department": "市城管局", "result": "已办结"}, 90)])
    r = row(both)
    # complete at the last department's completion (T0 + 90 h), by that department
    assert r["status"] == "completed" and r["completed_by"] == "市城管局"
    assert r["completed_at"] == T0 + dt.timedelta(hours=90) and r["progress_percent"] == 100


def test_a_co_handler_completing_does_not_complete_a_led_order() -> None:
    events = [
        issued(lead_department="市城管局"),
        ev("completed", {"department": "市住建局", "result": "协办部分已完成"}, 20),  # co-handler (协办)
    ]
    assert row(fold(P, "S1", events))["status"] == "in_progress"
    evs = [*events, ev("completed", {"department": "市城管局", "result": "已办结"}, 30)]
    led = fold(P, "S1", evs)
    assert row(led)["status"] == "completed" and row(led)["completed_at"] == T0 + dt.timedelta(hours=30)
    assert row(led)["completed_by"] == "市城管局" and row(led)["done_departments"] == ["市住建局", "市城管局"]
    assert fold(P, "S1", list(reversed(evs))) == led  # any arrival order folds like time order


def test_the_lead_must_be_an_addressed_department() -> None:
    from events.codec import DecodeError

    with pytest.raises((ValueError, DecodeError)):
        issued(lead_department="市水务局")
