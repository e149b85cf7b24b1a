"""Small deterministic event streams for tests (the realistic generator lives in producers.generator)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from events.catalog import Event
from events.codec import event_from_dict

TZ = dt.timezone(dt.timedelta(hours=8))
DEPARTMENTS = ("市城管局", "市住建局", "市交通局", "市生态环境局", "市市场监管局")


def envelope(
    event_id: str, type_: str, subject: str, time: dt.datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": event_id, "source": "test/hotline", "type": type_, "subject": subject,
        "time": time.isoformat(), "data": data,
    }  # fmt: skip


def case_lifecycle(rng: random.Random, case_id: str, start: dt.datetime) -> list[Event]:
    """One case's events in time order, with the usual detours (returns, extensions, suspensions, reopen)."""
    petition = rng.random() < 0.3
    channel = rng.choice(["letter", "visit", "online_petition"]) if petition else "hotline_12345"
    out: list[dict[str, Any]] = []
    t = start
    n = 0

    def add(type_: str, data: dict[str, Any], hours: float = 3.0) -> None:
        nonlocal t, n
        t = t + dt.timedelta(hours=hours * (0.5 + rng.random()))
        n += 1
        out.append(envelope(f"{case_id}-{n}", type_, case_id, t, data))

    received: dict[str, Any] = {
        "channel": channel,
        "category": "市政设施",
        "summary": "路灯不亮",
        "region": "长安区",
    }
    if rng.random() < 0.5:
        received["petitioner"] = {"name": "张三", "phone": f"138{rng.randrange(10**8):08d}"}
    add("case.received", received, 0.1)
    if petition:
        add("case.accepted", {})
    dept = rng.choice(DEPARTMENTS)
    add("case.assigned", {"department": dept})
    if rng.random() < 0.15:
        add("case.returned", {"department": dept, "reason": "非本单位职责"})
        dept = rng.choice(DEPARTMENTS)
        add("case.assigned", {"department": dept})
    if rng.random() < 0.1:
        add("case.extended", {"extra_days": 3, "reason": "情况复杂"})
    if rng.random() < 0.1:
        add("case.suspended", {"reason": "等待第三方意见"})
        add("case.resumed", {"restart_clock": rng.random() < 0.5}, 24)
    add("case.resolved", {"department": dept, "outcome": "resolved"}, 30)
    sat = rng.choice(["very_satisfied", "satisfied", "satisfied", "basically_satisfied", "dissatisfied"])
    add("case.followed_up", {"satisfaction": sat})
    if sat == "dissatisfied" and rng.random() < 0.5:
        add("case.reopened", {"reason": "群众不满意"})
        add("case.resolved", {"department": dept, "outcome": "explained"}, 20)
    if petition and rng.random() < 0.2:
        add("case.review_requested", {"level": "review"})
        add("case.review_decided", {"level": "review", "decision": "upheld"}, 48)
    add("case.closed", {})
    return [event_from_dict(e) for e in out]


def case_stream(n_cases: int, seed: int = 7) -> list[Event]:
    """Events of ``n_cases`` cases, interleaved by time as a real feed is."""
    rng = random.Random(seed)
    base = dt.datetime(2026, 10, 12, 8, 30, tzinfo=TZ)
    events: list[Event] = []
    for i in range(n_cases):
        events.extend(case_lifecycle(rng, f"C{i:06d}", base + dt.timedelta(minutes=7 * i)))
    events.sort(key=lambda e: e.sort_key)
    return events
