"""Years without an official calendar (issue 14, point 7), through the real pipeline.

A 12345 order received Mon 28 Dec 2026 runs into 2027, for which the installed `holidays` data has no notice:
its deadline is estimated (weekdays minus the statutory holidays: Fri 1 Jan 2027 is 元旦) and flagged
``calendar_gap``. Adding the year's notice to the calendar file re-derives it when a consumer starts, from
the stored state, without a replay. The notice used here is a TEST notice (it gives Mon 4 Jan 2027 off as
well, so that the deadline visibly moves); it is not the official 2027 notice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from app.settings import Settings
from projections.calendar import WorkCalendar
from tests.integration.figures_support import at, end_of, ev, one, received, rows, scorecard_reconciles
from tests.integration.helpers import consume, publish, query

DEPT = "市城管局"
JAN27 = dt.date(2027, 1, 1)
TEST_NOTICE = """
[years.2027]
source = "TEST ONLY: not the official notice"
holidays = [
    2027-01-01, 2027-01-02, 2027-01-03, 2027-01-04,
    2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12,
    2027-04-05, 2027-05-01, 2027-05-02, 2027-05-03, 2027-05-04, 2027-05-05, 2027-06-09, 2027-09-15,
    2027-10-01, 2027-10-02, 2027-10-03, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07,
]
workdays = [2027-02-20, 2027-09-26, 2027-10-09]
"""


def test_the_2026_calendar_facts_the_figures_tests_rely_on() -> None:
    cal = WorkCalendar.load()
    off = [dt.date(2026, 2, d) for d in range(15, 24)] + [dt.date(2026, 9, 25)]
    off += [dt.date(2026, 10, d) for d in range(1, 8)] + [dt.date(2026, 4, d) for d in (4, 5, 6)]
    worked = [dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 9, 20), dt.date(2026, 10, 10)]
    assert not any(cal.is_working_day(d) for d in off)
    assert all(cal.is_working_day(d) for d in worked)
    assert cal.covered_until == dt.date(2026, 12, 31)  # 2027 is estimated until its notice is added


def stream() -> list:  # type: ignore[type-arg]
    return [
        received("C1", at(12, 28)),
        ev("case.assigned", "C1", at(12, 28, 10), {"department": DEPT}),
        ev("case.resolved", "C1", at(1, 6, 10, year=2027), {"department": DEPT, "outcome": "resolved"}),
        received("C2", at(12, 7)),  # wholly in 2026: official, never re-derived
        ev("case.assigned", "C2", at(12, 7, 10), {"department": DEPT}),
        ev("case.resolved", "C2", at(12, 9, 10), {"department": DEPT, "outcome": "resolved"}),
    ]


def test_adding_the_notice_updates_every_estimated_deadline_without_a_replay(
    settings: Settings, tmp_path: Path
) -> None:
    url = settings.database_url or ""
    publish(settings, stream())
    consume(settings)
    # Estimated: Tue 29 (1), Wed 30 (2), Thu 31 Dec (3), [Fri 1 Jan 元旦, weekend], Mon 4 (4), Tue 5 Jan (5):
    # due at the end of Tue 5 Jan 2027; resolved Wed 6 Jan: late, a red card resting on the estimate.
    c1 = one(url, "SELECT * FROM case_status WHERE case_id = 'C1'")
    assert (c1["due_at"], c1["calendar_gap"], c1["on_time"]) == (end_of(1, 5, 2027), True, False)
    items = rows(url, "SELECT subject_id, cause, month, estimated FROM penalty_items")
    assert items == [{"subject_id": "C1", "cause": "overdue", "month": JAN27, "estimated": True}]
    assert scorecard_reconciles(url) == 1
    card = one(url, "SELECT * FROM department_scorecard WHERE month = %s", (JAN27,))
    assert (card["red_count"], card["estimated_cards"], card["penalty_score"]) == (1, 1, Decimal("-10.00"))
    jan = one(url, "SELECT * FROM completion_rates WHERE month = %s", (JAN27,))
    assert (jan["resolved"], jan["due"], jan["estimated_deadlines"]) == (1, 1, 1)
    before = {
        "c2": one(url, "SELECT * FROM case_status WHERE case_id = 'C2'"),
        "store": query(url, "SELECT count(*), max(seq) FROM casetrack.event_store"),
        "generations": query(url, "SELECT * FROM casetrack.live_generations ORDER BY 1"),
        "tracking": query(url, "SELECT topic, partition, next_offset FROM casetrack.tracking ORDER BY 1, 2"),
    }

    notice = tmp_path / "calendar.toml"
    notice.write_text(TEST_NOTICE, encoding="utf-8")
    consume(settings.model_copy(update={"calendar_file": notice}))  # a consumer starts with the notice
    # With the notice (1-4 Jan off): Tue 29 (1), Wed 30 (2), Thu 31 Dec (3), Tue 5 (4), Wed 6 Jan (5): due at
    # the end of Wed 6 Jan; resolved on time on its yellow day (1.67 working days before the end of 6 Jan is
    # Tue 5 Jan 08:00, so yellow from the start of 5 Jan).
    c1 = one(url, "SELECT * FROM case_status WHERE case_id = 'C1'")
    assert (c1["due_at"], c1["calendar_gap"], c1["on_time"], c1["warning_level"]) == (
        end_of(1, 6, 2027), False, True, "none",
    )  # fmt: skip
    assert c1["yellow_at"] == dt.datetime(2027, 1, 5, tzinfo=end_of(1, 6, 2027).tzinfo)
    items = rows(url, "SELECT subject_id, cause, month, estimated FROM penalty_items")
    assert items == [{"subject_id": "C1", "cause": "yellow", "month": JAN27, "estimated": False}]
    assert scorecard_reconciles(url) == 1
    card = one(url, "SELECT * FROM department_scorecard WHERE month = %s", (JAN27,))
    assert (card["red_count"], card["yellow_count"], card["estimated_cards"]) == (0, 1, 0)
    jan = one(url, "SELECT * FROM completion_rates WHERE month = %s", (JAN27,))
    assert (jan["resolved_on_time"], jan["estimated_deadlines"]) == (1, 0)
    # No replay: the same generation, the same event store and positions; the official row untouched.
    after = {
        "c2": one(url, "SELECT * FROM case_status WHERE case_id = 'C2'"),
        "store": query(url, "SELECT count(*), max(seq) FROM casetrack.event_store"),
        "generations": query(url, "SELECT * FROM casetrack.live_generations ORDER BY 1"),
        "tracking": query(url, "SELECT topic, partition, next_offset FROM casetrack.tracking ORDER BY 1, 2"),
    }
    assert after == before


def test_a_strict_calendar_refuses_to_estimate(settings: Settings) -> None:
    strict = settings.model_copy(update={"calendar_strict": True})
    url = settings.database_url or ""
    publish(strict, stream())
    consume(strict)
    c1 = one(url, "SELECT * FROM case_status WHERE case_id = 'C1'")
    assert (c1["due_at"], c1["yellow_at"], c1["calendar_gap"], c1["on_time"]) == (None, None, True, None)
    assert rows(url, "SELECT * FROM penalty_items") == []
    c2 = one(url, "SELECT * FROM case_status WHERE case_id = 'C2'")  # 2026 is official: counted as ever
    assert (c2["due_at"], c2["calendar_gap"], c2["on_time"]) == (end_of(12, 14), False, True)
