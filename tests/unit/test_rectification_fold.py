"""The rectification-item fold on plain lists of events: progress, extensions, sign-off and rejection."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from events.catalog import Event
from events.codec import event_from_dict
from projections.base import fold
from projections.deadlines import SHANGHAI
from projections.rectification import RectificationProjection, RectificationState

P = RectificationProjection()
T0 = dt.datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)
_ids = itertools.count()
MEASURES = ["建立台账", "逐项整改", "完善制度", "开展回头看"]


def ev(type_: str, data: dict[str, Any], days: float, subject: str = "R1") -> Event:
    return event_from_dict(
        {
            "specversion": "1.0", "id": f"r{next(_ids):05d}", "source": "test/rectification",
            "type": f"rectification.{type_}", "subject": subject,
            "time": (T0 + dt.timedelta(days=days)).isoformat(), "data": data,
        }
    )  # fmt: skip


def opened(days: float = 0, **kw: Any) -> Event:
    data = {"source": "inspection", "problem": "窗口服务事项清单未及时更新", "department": "市政务服务中心",
            "responsible_person": "王五", "deadline": "2026-05-29", "measures": MEASURES, **kw}  # fmt: skip
    return ev("opened", data, days)


def row(state: RectificationState) -> dict[str, Any]:
    return dict(zip(P.columns, P.row(state, T0), strict=True))


def test_opened_item() -> None:
    r = row(fold(P, "R1", [opened(related_case_id="C000002")]))
    assert r["item_id"] == "R1" and r["status"] == "open" and r["source"] == "inspection"
    assert r["deadline"] == r["original_deadline"] == dt.date(2026, 5, 29)
    assert r["deadline_at"] == dt.datetime(2026, 5, 30, tzinfo=SHANGHAI)
    assert (r["measures_planned"], r["measures_done"], r["progress"]) == (4, 0, 0.0)
    assert r["related_case_id"] == "C000002" and r["opened_at"] == T0


def test_progress_and_extension() -> None:
    s = fold(
        P,
        "R1",
        [
            opened(),
            ev("progress_reported", {"measures_done": 1, "note": "台账已建立"}, 10),
            ev("extended", {"new_deadline": "2026-07-31", "reason": "涉及跨部门协调"}, 20),
            ev("progress_reported", {"measures_done": 3}, 30),
        ],
    )
    r = row(s)
    assert r["status"] == "in_progress" and r["measures_done"] == 3 and r["progress"] == 0.75
    assert r["deadline"] == dt.date(2026, 7, 31) and r["original_deadline"] == dt.date(2026, 5, 29)
    assert r["extension_count"] == 1 and r["progress_reports"] == 2


def test_completion_rejection_and_sign_off() -> None:
    events = [
        opened(),
        ev("progress_reported", {"measures_done": 2}, 10),
        ev("completed", {"summary": "全部完成"}, 40),
    ]
    s = fold(P, "R1", events)
    r = row(s)
    assert (
        r["status"] == "completed" and r["measures_done"] == 4 and r["progress"] == 1.0
    )  # completion = all done
    s = P.apply(s, ev("verified", {"accepted": False, "verifier": "市督查室", "note": "不彻底"}, 45))
    r = row(s)
    assert r["status"] == "rejected" and r["rejection_count"] == 1 and r["verified_at"] is None
    assert r["rejected_at"] == T0 + dt.timedelta(days=45) and r["verifier"] == "市督查室"
    s = P.apply(s, ev("progress_reported", {"measures_done": 4, "note": "补充整改"}, 50))
    assert row(s)["status"] == "in_progress"
    s = P.apply(s, ev("completed", {"summary": "补充整改完毕"}, 52))
    s = P.apply(s, ev("verified", {"accepted": True, "verifier": "市审计局"}, 55))
    r = row(s)
    assert r["status"] == "verified" and r["verified_at"] == T0 + dt.timedelta(days=55)
    assert r["verifier"] == "市审计局" and r["rejection_count"] == 1
    assert r["completed_at"] == T0 + dt.timedelta(days=52)


def test_progress_is_capped_at_one() -> None:
    s = fold(P, "R1", [opened(), ev("progress_reported", {"measures_done": 9}, 1)])
    assert row(s)["progress"] == 1.0 and row(s)["measures_done"] == 9


def test_missing_predecessors_are_tolerated() -> None:
    s = fold(P, "R1", [ev("progress_reported", {"measures_done": 2}, 1)])
    r = row(s)
    assert r["status"] == "in_progress" and r["progress"] is None and r["deadline_at"] is None
    assert (
        row(fold(P, "R1", [ev("verified", {"accepted": True, "verifier": "x"}, 1)]))["status"] == "verified"
    )
    # an extension that sorts before the opening event still wins over the opening deadline
    s = fold(P, "R1", [ev("extended", {"new_deadline": "2026-08-31", "reason": "x"}, -1), opened()])
    r = row(s)
    assert r["deadline"] == dt.date(2026, 8, 31) and r["original_deadline"] == dt.date(2026, 5, 29)
    assert r["status"] == "open"
    # a completion that sorts before the opening event: the plan arrives later, still all done
    s = fold(P, "R1", [ev("completed", {"summary": "x"}, -1), opened()])
    assert row(s)["status"] == "completed" and row(s)["progress"] == 1.0


def test_any_arrival_order_folds_like_time_order() -> None:
    events = [
        opened(),
        ev("progress_reported", {"measures_done": 1}, 5),
        ev("extended", {"new_deadline": "2026-06-30", "reason": "x"}, 6),
        ev("completed", {"summary": "x"}, 20),
        ev("verified", {"accepted": False, "verifier": "a"}, 25),
        ev("progress_reported", {"measures_done": 4}, 26),
        ev("completed", {"summary": "y"}, 27),
        ev("verified", {"accepted": True, "verifier": "b"}, 30),
    ]
    expected = fold(P, "R1", events)
    rng = random.Random(8)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert fold(P, "R1", shuffled) == expected
    assert P.load(P.dump(expected)) == expected
