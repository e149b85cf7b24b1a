"""Every projection on the real broker and database: convergence under shuffled and redelivered input,
the rows of the supervision and rectification folds, wall-clock overdue flags and analyst access."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest

from app.settings import Settings
from events.catalog import Event
from events.codec import event_from_dict
from projections.base import fold
from projections.rectification import RectificationProjection
from projections.supervision import SupervisionProjection
from tests.factories import DEPARTMENTS, TZ, case_stream
from tests.integration.helpers import consume, publish, query, snapshot

VIEWS = {
    "case_status": "case_id",
    "supervision_orders": "order_id",
    "rectification_items": "item_id",
    "completion_rates": "month, channel, department",
    "petition_tallies": "month, channel, category, region",
    "department_scorecard": "department, month",
}


def _env(eid: str, type_: str, subject: str, t: dt.datetime, data: dict[str, Any]) -> Event:
    return event_from_dict(
        {"specversion": "1.0", "id": eid, "source": "test/office", "type": type_, "subject": subject,
         "time": t.isoformat(), "data": data}
    )  # fmt: skip


def supervision_stream(n: int, seed: int = 1, base: dt.datetime | None = None) -> list[Event]:
    """``n`` supervision orders with progress, urgings, completion or cancellation (some left open)."""
    rng = random.Random(seed)
    base = base or dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    out: list[Event] = []
    for i in range(n):
        oid = f"S{i:05d}"
        t = base + dt.timedelta(hours=5 * i)
        k = 0

        def add(type_: str, data: dict[str, Any], hours: float, oid: str = oid) -> None:
            nonlocal t, k
            t += dt.timedelta(hours=hours * (0.5 + rng.random()))
            k += 1
            out.append(_env(f"{oid}-{k}", f"supervision.{type_}", oid, t, data))

        depts = rng.sample(DEPARTMENTS, rng.choice((1, 2, 3)))
        due = (t + dt.timedelta(days=rng.choice((5, 10, 20)))).date()
        add("issued", {"title": f"督办事项{i}", "issued_by": "市政府督查室",
                       "level": rng.choice(("leader_instruction", "office", "npc")),
                       "departments": depts, "due_date": due.isoformat()}, 0.1)  # fmt: skip
        for dep in depts:
            if rng.random() < 0.7:
                add(
                    "progress_reported",
                    {"department": dep, "note": "推进中", "percent": rng.choice((30, 60))},
                    30,
                )
        for _ in range(rng.choice((0, 0, 1, 2, 4))):
            add("urged", {"note": "请抓紧办理"}, 40)
        end = rng.random()
        if end < 0.7:
            add("completed", {"department": depts[0], "result": "已办结"}, 60)
        elif end < 0.8:
            add("cancelled", {"reason": "情况变化"}, 20)
    return out


def rectification_stream(n: int, seed: int = 2, base: dt.datetime | None = None) -> list[Event]:
    """``n`` rectification items: progress, extensions, completion, rejection and sign-off."""
    rng = random.Random(seed)
    base = base or dt.datetime(2026, 3, 3, 10, 0, tzinfo=TZ)
    out: list[Event] = []
    for i in range(n):
        iid = f"R{i:05d}"
        t = base + dt.timedelta(hours=7 * i)
        k = 0

        def add(type_: str, data: dict[str, Any], days: float, iid: str = iid) -> None:
            nonlocal t, k
            t += dt.timedelta(days=days * (0.5 + rng.random()))
            k += 1
            out.append(_env(f"{iid}-{k}", f"rectification.{type_}", iid, t, data))

        measures = [f"措施{j}" for j in range(rng.randint(2, 5))]
        deadline = (t + dt.timedelta(days=rng.choice((20, 40)))).date()
        add("opened", {"source": rng.choice(("inspection", "audit", "petition")), "problem": "问题",
                       "department": rng.choice(DEPARTMENTS), "responsible_person": "负责人",
                       "deadline": deadline.isoformat(), "measures": measures}, 0.01)  # fmt: skip
        add("progress_reported", {"measures_done": 1}, 5)
        if rng.random() < 0.3:
            add(
                "extended",
                {"new_deadline": (deadline + dt.timedelta(days=30)).isoformat(), "reason": "协调"},
                3,
            )
        if rng.random() < 0.8:
            add("completed", {"summary": "完成"}, 25)
            if rng.random() < 0.3:
                add("verified", {"accepted": False, "verifier": "督查室"}, 4)
                add("progress_reported", {"measures_done": len(measures)}, 3)
                add("completed", {"summary": "补充完成"}, 3)
            if rng.random() < 0.8:
                add("verified", {"accepted": True, "verifier": "督查室"}, 5)
    return out


def everything(seed: int = 11) -> list[Event]:
    events = [*case_stream(60, seed=seed), *supervision_stream(40, seed), *rectification_stream(40, seed)]
    events.sort(key=lambda e: e.sort_key)
    return events


def snapshots(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {view: snapshot(url, view, order) for view, order in VIEWS.items()}


def test_every_projection_converges_under_shuffled_and_redelivered_input(
    settings_factory: Callable[..., Settings], database_factory: Callable[[], str]
) -> None:
    events = everything()
    rng = random.Random(5)
    messy = events[:] + rng.sample(events, len(events) // 3)  # a third delivered twice
    rng.shuffle(messy)
    in_order = settings_factory(database_factory())
    out_of_order = settings_factory(database_factory(), max_batch_records=37)  # late events across batches
    publish(in_order, events)
    publish(out_of_order, messy)
    first = consume(in_order)
    second = consume(out_of_order)
    assert (first.applied, first.duplicates, first.dead_letters) == (len(events), 0, 0)
    assert (second.applied, second.duplicates, second.dead_letters) == (
        len(events),
        len(messy) - len(events),
        0,
    )

    assert in_order.database_url and out_of_order.database_url
    expected = snapshots(in_order.database_url)
    assert snapshots(out_of_order.database_url) == expected
    assert len(expected["supervision_orders"]) == 40 and len(expected["rectification_items"]) == 40
    assert expected["completion_rates"] and expected["petition_tallies"] and expected["department_scorecard"]

    # A later redelivery storm (a producer retrying everything) changes nothing.
    publish(out_of_order, rng.sample(events, len(events) // 2))
    again = consume(out_of_order)
    assert again.applied == 0 and again.duplicates == len(events) // 2
    assert snapshots(out_of_order.database_url) == expected


def test_rows_are_the_pure_folds(settings: Settings) -> None:
    events = [*supervision_stream(25, seed=3), *rectification_stream(25, seed=4)]
    publish(settings, events)
    consume(settings)
    url = settings.database_url or ""
    by_subject: dict[str, list[Event]] = {}
    for e in events:
        by_subject.setdefault(e.subject, []).append(e)

    sp = SupervisionProjection()
    # The lead and each department's own completion are state columns, read through supervision_departments.
    state_only = ("lead_department", "done_departments", "done_at")
    view_cols = [c for c in sp.columns if c not in ("departments", *state_only)]
    sql = f"SELECT {', '.join(view_cols)}, departments FROM supervision_orders"  # noqa: S608 - names from code
    for r in query(url, sql):
        s = fold(sp, r[0], by_subject[r[0]])
        want = dict(zip(sp.columns, sp.row(s, dt.datetime.now(dt.UTC)), strict=True))
        got = dict(zip(view_cols, r[:-1], strict=True))
        assert got == {k: v for k, v in want.items() if k in view_cols}
        assert r[-1] == list(s.departments)
    live = "(SELECT generation FROM casetrack.live_generations WHERE projection = 'supervision')"
    sql = (
        f"SELECT order_id, {', '.join(state_only)} FROM casetrack.supervision_state WHERE generation = {live}"  # noqa: S608
    )
    for r in query(url, sql):
        want = dict(
            zip(sp.columns, sp.row(fold(sp, r[0], by_subject[r[0]]), dt.datetime.now(dt.UTC)), strict=True)
        )
        iso = want["done_at"]
        want["done_at"] = None if iso is None else [dt.datetime.fromisoformat(x) for x in iso]
        assert dict(zip(state_only, r[1:], strict=True)) == {c: want[c] for c in state_only}

    rp = RectificationProjection()
    cols = ", ".join(rp.columns)
    for r in query(url, f"SELECT {cols} FROM rectification_items"):  # noqa: S608 - names from code
        item = fold(rp, r[0], by_subject[r[0]])
        expected = rp.row(item, dt.datetime.now(dt.UTC))
        values = tuple(
            float(v) if c == "progress" and v is not None else v for c, v in zip(rp.columns, r, strict=True)
        )
        assert values == expected


def test_overdue_follows_the_wall_clock(settings: Settings) -> None:
    now = dt.datetime.now(TZ)
    past, future = now - dt.timedelta(days=40), now + dt.timedelta(days=40)
    today = now.date()

    def order(
        oid: str, due: dt.date, end: tuple[str, dt.datetime] | None = None, urges: int = 0
    ) -> list[Event]:
        out = [_env(f"{oid}-1", "supervision.issued", oid, past, {
            "title": "t", "issued_by": "b", "level": "office", "departments": ["市城管局", "市住建局"],
            "lead_department": "市城管局", "due_date": due.isoformat()})]  # fmt: skip
        out += [
            _env(f"{oid}-u{i}", "supervision.urged", oid, past + dt.timedelta(hours=i + 1), {})
            for i in range(urges)
        ]
        if end is not None:
            data = {"department": "市城管局", "result": "ok"} if end[0] == "completed" else {"reason": "r"}
            out.append(_env(f"{oid}-9", f"supervision.{end[0]}", oid, end[1], data))
        return out

    def item(iid: str, deadline: dt.date, verified_at: dt.datetime | None = None) -> list[Event]:
        out = [_env(f"{iid}-1", "rectification.opened", iid, past, {
            "source": "audit", "problem": "p", "department": "市交通局", "responsible_person": "r",
            "deadline": deadline.isoformat(), "measures": ["m1", "m2"]})]  # fmt: skip
        if verified_at is not None:
            out.append(
                _env(
                    f"{iid}-2",
                    "rectification.completed",
                    iid,
                    verified_at - dt.timedelta(hours=1),
                    {"summary": "s"},
                )
            )
            out.append(
                _env(
                    f"{iid}-3",
                    "rectification.verified",
                    iid,
                    verified_at,
                    {"accepted": True, "verifier": "v"},
                )
            )
        return out

    yesterday = today - dt.timedelta(days=1)
    events = [
        *order("open-late", yesterday, urges=2),
        *order("open-in-time", today + dt.timedelta(days=3)),
        *order("due-today", today),  # not overdue until 24:00 tonight
        *order("done-late", today - dt.timedelta(days=10), ("completed", now - dt.timedelta(days=7))),
        *order("done-in-time", today - dt.timedelta(days=10), ("completed", now - dt.timedelta(days=12))),
        *order("cancelled-late", today - dt.timedelta(days=10), ("cancelled", now - dt.timedelta(days=5))),
        *item("item-late", yesterday),
        *item("item-future", future.date()),
        *item("item-verified-late", today - dt.timedelta(days=10), now - dt.timedelta(days=8)),
        *item("item-verified-in-time", today - dt.timedelta(days=10), now - dt.timedelta(days=11)),
    ]
    publish(settings, events)
    consume(settings)
    url = settings.database_url or ""
    orders = {
        r[0]: r[1:]
        for r in query(
            url, "SELECT order_id, overdue, days_overdue, escalation_stage FROM supervision_orders"
        )
    }
    assert orders == {
        "open-late": (True, 1, "orange"),
        "open-in-time": (False, 0, "none"),
        "due-today": (False, 0, "none"),
        "done-late": (True, 3, "none"),
        "done-in-time": (False, 0, "none"),
        "cancelled-late": (False, 0, "none"),
    }
    departments = query(url, "SELECT DISTINCT departments FROM supervision_orders")
    assert departments == [(["市城管局", "市住建局"],)]  # a real text[], in issue order
    items = {
        r[0]: r[1:] for r in query(url, "SELECT item_id, overdue, days_overdue FROM rectification_items")
    }
    assert items == {
        "item-late": (True, 1),
        "item-future": (False, 0),
        "item-verified-late": (True, 2),
        "item-verified-in-time": (False, 0),
    }
    # the scorecard counts the overdue order once per addressed department, in its due month
    sc = query(
        url,
        "SELECT department, sum(overdue_supervision_orders), sum(overdue_rectification_items),"
        " sum(penalty_score) FROM department_scorecard GROUP BY department ORDER BY department",
    )
    assert [(d, int(s), int(r), float(p)) for d, s, r, p in sc] == [
        ("市交通局", 0, 2, 0.0),
        ("市住建局", 2, 0, -4.0),
        ("市城管局", 2, 0, -4.0),
    ]


def test_views_are_readable_by_analysts_and_internals_are_not(settings: Settings) -> None:
    publish(settings, everything(seed=3)[:300])
    consume(settings)
    conn = psycopg2.connect(settings.database_url or "")
    try:
        with conn.cursor() as cur:
            cur.execute("SET ROLE casetrack_analyst")
            for view in VIEWS:
                cur.execute(f"SELECT count(*) FROM public.{view}")  # noqa: S608 - names from code
                assert cur.fetchone() is not None
            for table in ("supervision_state", "rectification_state", "kpi_settings", "scorecard_settings"):
                cur.execute("SAVEPOINT s")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"SELECT 1 FROM casetrack.{table}")  # noqa: S608 - names from code
                cur.execute("ROLLBACK TO SAVEPOINT s")
    finally:
        conn.close()


def test_pending_steps_and_reopened_clocks_turn_cases_red_by_the_wall_clock(settings: Settings) -> None:
    """No event arrives after the ones below, yet ``warning_level`` follows the clock: a petition that
    nobody accepted within 15 days, a review left undecided for 30, and a hotline case whose suspension a
    re-assignment ended (its clock runs again) are red; a deputy's suggestion near its 3 months is yellow."""
    now = dt.datetime.now(TZ)

    def ago(days: float) -> dt.datetime:
        return now - dt.timedelta(days=days)

    letter = {"channel": "letter", "category": "征地拆迁", "summary": "补偿争议", "region": "新华区"}
    hotline = {"channel": "hotline_12345", "category": "市容环境", "summary": "占道经营"}
    dept = {"department": "市信访局"}
    events = [
        _env("pl-1", "case.received", "petition-unaccepted-late", ago(20), letter),
        _env("pf-1", "case.received", "petition-unaccepted-fresh", ago(3), letter),
        _env("pr-1", "case.received", "petition-review-late", ago(120), letter),
        _env("pr-2", "case.accepted", "petition-review-late", ago(118), {}),
        _env("pr-3", "case.assigned", "petition-review-late", ago(117), dept),
        _env("pr-4", "case.resolved", "petition-review-late", ago(90), {**dept, "outcome": "explained"}),
        _env("pr-5", "case.closed", "petition-review-late", ago(89), {}),
        _env("pr-6", "case.review_requested", "petition-review-late", ago(40), {"level": "review"}),
        _env("hs-1", "case.received", "hotline-suspended-reassigned", ago(30), hotline),
        _env("hs-2", "case.assigned", "hotline-suspended-reassigned", ago(29.9), {"department": "市城管局"}),
        _env("hs-3", "case.suspended", "hotline-suspended-reassigned", ago(29), {"reason": "征询第三方"}),
        _env("hs-4", "case.assigned", "hotline-suspended-reassigned", ago(28), {"department": "市住建局"}),
        _env("np-1", "case.received", "npc-near", ago(81), {"channel": "npc_suggestion", "category": "交通", "summary": "s"}),
        _env("np-2", "case.assigned", "npc-near", ago(80), {"department": "市交通局"}),
    ]  # fmt: skip
    publish(settings, events)
    consume(settings)
    rows = {
        r[0]: r[1:]
        for r in query(
            settings.database_url or "",
            "SELECT case_id, status, warning_level, due_at IS NULL FROM case_status",
        )
    }
    assert rows == {
        "petition-unaccepted-late": ("received", "red", True),
        "petition-unaccepted-fresh": ("received", "none", True),
        "petition-review-late": ("closed", "red", False),
        "hotline-suspended-reassigned": ("assigned", "red", False),
        "npc-near": ("assigned", "yellow", False),
    }
