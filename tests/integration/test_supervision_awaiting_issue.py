"""A lone ``supervision.urged`` makes no phantom order (issue 15, point 7), and once its ``issued`` arrives,
however late, the order equals the one folded in time order. Through the real pipeline: broker, consumer,
PostgreSQL, the analysts' view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from events.catalog import Event
from events.codec import event_from_dict
from tests.integration.helpers import consume, publish, query

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def ev(event_id: str, type_: str, subject: str, hours: float, data: dict[str, Any]) -> Event:
    return event_from_dict(
        {
            "specversion": "1.0", "id": event_id, "source": "test/supervision", "type": f"supervision.{type_}",
            "subject": subject, "time": (T0 + dt.timedelta(hours=hours)).isoformat(), "data": data,
        }
    )  # fmt: skip


def order(subject: str) -> tuple[Event, Event, Event]:
    """(issued at 0 h, urged at 24 h, urged again at 48 h)."""
    issued = ev(f"{subject}-1", "issued", subject, 0, {
        "title": "关于背街小巷路灯整治的督办通知", "issued_by": "市委督查室", "level": "office",
        "departments": ["市城管局"], "due_date": "2026-03-13",
    })  # fmt: skip
    return issued, ev(f"{subject}-2", "urged", subject, 24, {}), ev(f"{subject}-3", "urged", subject, 48, {})


def orders(url: str) -> list[tuple[Any, ...]]:
    return query(
        url,
        "SELECT order_id, title, status, urge_count, last_urged_at, escalation_stage, due_date, event_count"
        " FROM supervision_orders ORDER BY order_id",
    )


def test_a_lone_urging_waits_for_its_order_and_then_counts_as_in_time_order(
    settings_factory: Any, database_factory: Any
) -> None:
    late = settings_factory(database_factory())
    in_order = settings_factory(database_factory())
    issued, urged, urged_again = order("DB-2026-031")

    publish(late, [urged])  # the urging arrives first, alone
    consume(late)
    assert orders(late.database_url) == []  # no phantom order with an empty title
    held = query(late.database_url, "SELECT order_id, status, urge_count FROM casetrack.supervision_state")
    assert held == [("DB-2026-031", None, 1)]  # kept, waiting for its issue event

    publish(late, [issued, urged_again])  # the issue event comes late (its time is the earliest)
    consume(late)
    publish(in_order, [issued, urged, urged_again])
    consume(in_order)

    (row,) = orders(late.database_url)
    assert orders(late.database_url) == orders(in_order.database_url)
    # two urgings: blue after the first, orange after the second; the last at 48 h = 2026-03-04 09:00 +08
    assert row[1:4] == ("关于背街小巷路灯整治的督办通知", "issued", 2)
    assert row[4] == T0 + dt.timedelta(hours=48) and row[5] == "orange" and row[7] == 3
