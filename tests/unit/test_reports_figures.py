"""The report figures computed from small hand-made case histories (no database: the SQL adapter is covered
by tests/integration/test_reports.py). Every expected value is counted by hand in the comments.

Calendar (official 2026 data): Sun 2026-09-20 is a 调休 working day; National Day 2026-10-01..10-07 is off;
Sat 2026-10-10 is a 调休 working day.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from projections.calendar import WorkCalendar
from reports.disclosure import annual_report
from reports.facts import CaseEvent, ServiceFacts
from reports.periods import BEIJING, PeriodError, parse_as_of, parse_period, split
from reports.service_centre import service_report

_ids = itertools.count()


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), BEIJING)


def ev(type_: str, day: str, hour: int = 10, **data: Any) -> CaseEvent:
    return CaseEvent(f"case.{type_}", at(day, hour), f"e{next(_ids):05d}", data)


AS_OF = at("2027-01-05")


# --- periods ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", "2026-01-01", "2026-12-31"),
        ("2026-Q3", "2026-07-01", "2026-09-30"),
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2026-W14", "2026-03-30", "2026-04-05"),  # 1 Jan 2026 is a Thursday: W01 starts Mon 2025-12-29
        ("2026-W01", "2025-12-29", "2026-01-04"),
        ("2026-01..2026-07", "2026-01-01", "2026-07-31"),  # "1–7 月"
        ("2026-04-19..2026-12-31", "2026-04-19", "2026-12-31"),
    ],
)
def test_periods(text: str, start: str, end: str) -> None:
    p = parse_period(text)
    assert (p.start, p.end) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert p.start_at == dt.datetime.fromisoformat(f"{start}T00:00:00+08:00")
    assert p.end_at - p.start_at == dt.timedelta(days=(p.end - p.start).days + 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "2026-W54", "2026-07..2026-06", "Q3", "2026-02-30"])
def test_bad_periods_say_what_is_accepted(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_as_of_moments_are_beijing_time() -> None:
    assert parse_as_of("2026-10-05") == dt.datetime.fromisoformat("2026-10-06T00:00:00+08:00")  # end of day
    assert parse_as_of("2026-10-05T09:30") == dt.datetime.fromisoformat("2026-10-05T09:30:00+08:00")
    assert parse_as_of("2026-10-05T01:30Z") == dt.datetime.fromisoformat("2026-10-05T09:30:00+08:00")


def test_split_clips_to_the_period() -> None:
    parts = split(parse_period("2026-02-20..2026-04-10"), "month")
    assert [(p.label, str(p.start), str(p.end)) for p in parts] == [
        ("2026-02-20..2026-02-28", "2026-02-20", "2026-02-28"),
        ("2026-03", "2026-03-01", "2026-03-31"),
        ("2026-04-01..2026-04-10", "2026-04-01", "2026-04-10"),
    ]


# --- the statutory annual disclosure report ----------------------------------------------------------------
def _disclosure_histories() -> dict[str, list[CaseEvent]]:
    rec = "received"
    return {
        # received 2025, answered 2026: 上年结转 (natural person), (一) 予以公开
        "D1": [ev(rec, "2025-12-20", applicant_type="natural_person"),
               ev("resolved", "2026-01-10", disclosure={"outcome": "disclosed"})],
        # received and answered in 2025: not this year's work
        "D2": [ev(rec, "2025-11-01", applicant_type="commercial_enterprise"),
               ev("resolved", "2025-11-20", disclosure={"outcome": "disclosed"})],
        # new, (三)4 保护第三方合法权益
        "D3": [ev(rec, "2026-03-02", applicant_type="natural_person"),
               ev("resolved", "2026-03-20", disclosure={"outcome": "not_disclosed", "reason": "third_party_rights"})],
        # new, suspended for 补正 and closed uncorrected: (六)1 逾期不补正
        "D4": [ev(rec, "2026-05-06", applicant_type="research_institution"), ev("suspended", "2026-05-08"),
               ev("closed", "2026-06-01")],
        # new, still open at the year's end: 结转下年度
        "D5": [ev(rec, "2026-12-28", applicant_type="legal_service_org")],
        # new, no applicant type, merged into an earlier request: (五)2 重复申请
        "D6": [ev(rec, "2026-06-01"), ev("merged", "2026-06-02", into_case_id="D3")],
        # new, answered without an outcome: (六)3 其他, noted as unclassified
        "D7": [ev(rec, "2026-07-01", applicant_type="natural_person"), ev("resolved", "2026-07-10")],
        # carried over, answered, reopened and not answered again: carried into next year
        "D8": [ev(rec, "2025-12-30", applicant_type="other_org"),
               ev("resolved", "2026-01-05", disclosure={"outcome": "partially_disclosed"}),
               ev("reopened", "2026-02-01")],
    }  # fmt: skip


def test_disclosure_annual_report_by_hand() -> None:
    r = annual_report(_disclosure_histories(), parse_period("2026"), AS_OF)
    rows = {row[0]: row for row in r.rows}
    keys = [c.key for c in r.columns]

    def cell(row: str, col: str) -> Any:
        return rows[row][keys.index(col)]

    # 一 new: D3, D7 natural; D4 research; D5 legal service; D6 unstated = 5
    assert [cell("new", k) for k in ("natural_person", "research_institution", "legal_service_org",
                                     "unstated", "total")] == [2, 1, 1, 1, 5]  # fmt: skip
    # 二 carried over: D1 natural, D8 other organisation = 2 (D2 was finished in 2025)
    assert (cell("carried_over", "natural_person"), cell("carried_over", "other_org")) == (1, 1)
    assert cell("carried_over", "total") == 2
    assert cell("disclosed", "natural_person") == 1  # D1
    assert cell("not_disclosed.third_party_rights", "natural_person") == 1  # D3
    assert cell("other.no_correction", "research_institution") == 1  # D4
    assert cell("not_processed.repeated", "unstated") == 1  # D6
    assert cell("other.other", "natural_person") == 1  # D7
    assert cell("partially_disclosed", "total") == 0  # D8 was reopened
    assert cell("outcome_total", "total") == 5  # D1, D3, D4, D6, D7
    assert (cell("carried_forward", "legal_service_org"), cell("carried_forward", "other_org")) == (1, 1)
    # 一 + 二 = (七) + 四: 5 + 2 = 5 + 2
    assert cell("new", "total") + cell("carried_over", "total") == cell("outcome_total", "total") + cell(
        "carried_forward", "total"
    )
    assert any("1 finished request(s) carried no disclosure outcome" in n for n in r.notes)
    # every outcome row of the national form is there, in order: 2 + 8 + 3 + 5 + 3 = 21
    assert len(r.rows) == 2 + 21 + 1 + 1


def test_disclosure_as_of_ignores_what_was_not_recorded() -> None:
    # the report only sees the histories it is given: the adapter cuts them by recorded-at; here the late
    # answer of D5 is simply absent, so D5 stays carried forward
    histories = _disclosure_histories()
    late = {
        **histories,
        "D5": [*histories["D5"], ev("resolved", "2026-12-30", disclosure={"outcome": "disclosed"})],
    }
    before = annual_report(histories, parse_period("2026"), AS_OF)
    after = annual_report(late, parse_period("2026"), AS_OF)
    assert before.column("total")[-1] == 2 and after.column("total")[-1] == 1
    assert before.canonical() == annual_report(histories, parse_period("2026"), AS_OF).canonical()


# --- service-centre figures -------------------------------------------------------------------------------
def app(received: tuple[str, int], resolved: tuple[str, int], promise: int | None, dept: str, matter: str,
        co: tuple[str, ...] = (), rated: bool = False, legal: int | None = 20) -> ServiceFacts:  # fmt: skip
    return ServiceFacts(at(*received), matter, promise, legal, at(*resolved), dept, co, rated)


def _applications() -> list[ServiceFacts]:
    licence, food, estate = "企业设立登记", "食品经营许可", "不动产登记"
    return [
        # S1 即办件 done the same day, rated: on the spot, 0 working days
        app(("2026-09-29", 10), ("2026-09-29", 11), 0, "A", licence, rated=True),
        # S2 即办件 done the next day: not on the spot; (09-29, 09-30] = 1 working day
        app(("2026-09-29", 16), ("2026-09-30", 9), 0, "A", licence),
        # S3 承诺件 5 days, Fri 09-18 → Tue 09-22: Sun 09-20 (调休), Mon 21, Tue 22 = 3 working days, early;
        # rated; 并联审批 with B
        app(("2026-09-18", 10), ("2026-09-22", 15), 5, "A", food, co=("B",), rated=True),
        # S4 承诺件 3 days, 09-29 → 10-09 across National Day: 09-30, 10-08, 10-09 = 3: on time, not early
        app(("2026-09-29", 10), ("2026-10-09", 15), 3, "B", food),
        # S5 承诺件 promising 25 days against a legal 20: a violation; Mon 10-12 → Wed 10-14 = 2 days, early
        app(("2026-10-12", 10), ("2026-10-14", 15), 25, "B", estate),
    ]


def test_service_centre_figures_by_hand() -> None:
    calendar = WorkCalendar.load(None)
    r = service_report(_applications(), parse_period("2026-09..2026-10"), AS_OF, calendar, 20)
    keys = [c.key for c in r.columns]
    total = dict(zip(keys, r.rows[-1], strict=True))
    assert total["completed"] == 5  # S1-S5
    assert (total["instant"], total["on_spot"], total["on_spot_rate"]) == (2, 1, 0.5)  # S1 of S1, S2
    assert (total["promised"], total["early"], total["early_rate"]) == (3, 2, 0.6667)  # S3, S5 of S3-S5
    assert (total["on_time"], total["on_time_rate"]) == (4, 0.8)  # all but S2
    # promised 0 + 0 + 5 + 3 + 25 = 33, legal 5 × 20 = 100, taken 0 + 1 + 3 + 3 + 2 = 9
    assert (total["sum_promised"], total["sum_legal"], total["sum_taken"]) == (33, 100, 9)
    assert (total["promise_speedup"], total["actual_speedup"]) == (0.67, 0.91)
    assert total["avg_days_promised"] == 2.67  # (3 + 3 + 2) / 3, 承诺件 only
    assert (total["rated"], total["rating_rate"]) == (2, 0.4)  # S1, S3
    assert (total["promise_violations"], total["parallel"], total["co_handled"]) == (1, 1, 1)
    by = {(row[1], row[2]): dict(zip(keys, row, strict=True)) for row in r.rows[:-1]}
    # B co-handled S3 (食品经营许可) and led S4 in the same matter: the co-handling enters no rate
    assert by[("B", "食品经营许可")]["completed"] == 1 and by[("B", "食品经营许可")]["co_handled"] == 1
    assert by[("A", "食品经营许可")]["parallel"] == 1


def test_service_centre_split_by_month() -> None:
    calendar = WorkCalendar.load(None)
    r = service_report(_applications(), parse_period("2026-09..2026-10"), AS_OF, calendar, 20, False, "month")
    completed = {(row[0], row[1]): row[3] for row in r.rows}
    # September: S1, S2, S3 by A; October: S4, S5 by B (S4 done 10-09)
    assert completed == {("2026-09", "A"): 3, ("2026-09", "B"): 0, ("2026-10", "B"): 2, ("合计", "合计"): 5}


def test_parallel_approval_counts_each_department_in_its_role() -> None:
    # 并联审批: one application led by A with B and C in parallel, 承诺件 of 3 working days, received Tue
    # 2026-09-29, completed Wed 09-30: (09-29, 09-30] = 1 working day, early. The application is one completed
    # application and one 并联审批件 for its lead A; B and C each co-handled it once (协办件) and enter no rate.
    apps = [app(("2026-09-29", 10), ("2026-09-30", 9), 3, "A", "企业设立登记", co=("B", "C"))]
    r = service_report(apps, parse_period("2026-09"), AS_OF, WorkCalendar.load(None), 20, by_matter=False)
    keys = [c.key for c in r.columns]
    by = {row[1]: dict(zip(keys, row, strict=True)) for row in r.rows}
    pick = ("completed", "early", "early_rate", "sum_taken", "parallel", "co_handled")
    assert {d: tuple(by[d][k] for k in pick) for d in by} == {
        "A": (1, 1, 1, 1, 1, 0),
        "B": (0, 0, None, 0, 0, 1),
        "C": (0, 0, None, 0, 0, 1),
        "合计": (1, 1, 1, 1, 1, 2),  # one application, two co-handling departments
    }
