"""Service-centre figures (政务服务中心, seed 003) by department × matter, as of a moment.

Over the applications first completed (办结) in the period: 现场办结率, 承诺件提前办结率, 按时办结率, 承诺提速 and
实际提速 against the legal limit, 承诺件平均办结时间, 测评率 and promises beyond the legal limit; every figure
counts the lead department (主办), and 并联审批 / 协办 are counted apart. Formulas and defaults:
docs/analysts.md ("Service-centre figures"; domain.md, "Service-centre figures").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reports import periods
from reports.facts import ServiceFacts
from reports.periods import BEIJING, Period
from reports.table import Cell, Column, Report, rate

ALL = "全部"
NO_LAW_CAP = 20


class WorkingDays(Protocol):
    def working_days_between(self, start: dt.date, end: dt.date) -> int: ...


@dataclass(frozen=True, slots=True)
class Application:
    """One completed application, reduced to its figures."""

    department: str
    matter: str
    co_departments: tuple[str, ...]
    promised: int
    legal: int
    taken: int
    same_day: bool
    rated: bool


@dataclass
class _Tally:
    completed: int = 0
    instant: int = 0
    on_spot: int = 0
    promised_cases: int = 0
    early: int = 0
    on_time: int = 0
    sum_promised: int = 0
    sum_legal: int = 0
    sum_taken: int = 0
    taken_promised: int = 0
    rated: int = 0
    violations: int = 0
    parallel: int = 0
    co_handled: int = 0
    cells: list[Cell] = field(default_factory=list)

    def add(self, a: Application) -> None:
        self.completed += 1
        if a.promised == 0:
            self.instant += 1
            self.on_spot += a.same_day
            self.on_time += a.same_day
        else:
            self.promised_cases += 1
            self.early += a.taken < a.promised
            self.on_time += a.taken <= a.promised
            self.taken_promised += a.taken
        self.sum_promised += a.promised
        self.sum_legal += a.legal
        self.sum_taken += a.taken
        self.rated += a.rated
        self.violations += a.promised > (a.legal or NO_LAW_CAP)
        self.parallel += bool(a.co_departments)

    def row(self) -> tuple[Cell, ...]:
        def speed(days: int) -> float | None:
            return round(1 - days / self.sum_legal, 4) if self.sum_legal else None

        avg = round(self.taken_promised / self.promised_cases, 2) if self.promised_cases else None
        return (self.completed, self.instant, self.on_spot, rate(self.on_spot, self.instant),
                self.promised_cases, self.early, rate(self.early, self.promised_cases), self.on_time,
                rate(self.on_time, self.completed), self.sum_promised, self.sum_legal, self.sum_taken,
                speed(self.sum_promised), speed(self.sum_taken), avg, self.rated, rate(self.rated, self.completed),
                self.violations, self.parallel, self.co_handled)  # fmt: skip


COLUMNS = (
    Column("bucket", "统计期", "sub-period"),
    Column("department", "部门(主办)", "department (lead)"),
    Column("matter", "事项", "matter"),
    Column("completed", "办结件数", "completed"),
    Column("instant", "即办件", "on-the-spot items completed"),
    Column("on_spot", "现场办结", "done on the day"),
    Column("on_spot_rate", "现场办结率", "on-spot completion rate"),
    Column("promised", "承诺件", "promised items completed"),
    Column("early", "提前办结", "done before the promise"),
    Column("early_rate", "承诺件提前办结率", "early completion rate"),
    Column("on_time", "按时办结", "done within the promise"),
    Column("on_time_rate", "按时办结率", "on-time rate"),
    Column("sum_promised", "承诺时限合计(工作日)", "promised working days, sum"),
    Column("sum_legal", "法定时限合计(工作日)", "legal working days, sum"),
    Column("sum_taken", "实际用时合计(工作日)", "working days taken, sum"),
    Column("promise_speedup", "承诺办结时间比法定时间提速", "promise speed-up"),
    Column("actual_speedup", "实际办理提速", "actual speed-up"),
    Column("avg_days_promised", "承诺件平均办结时间(工作日)", "mean working days, promised items"),
    Column("rated", "测评件数", "rated"),
    Column("rating_rate", "测评率", "rating rate"),
    Column("promise_violations", "承诺时限超法定时限", "promises beyond the legal limit"),
    Column("parallel", "并联审批件", "with co-departments (并联审批)"),
    Column("co_handled", "协办件", "co-handled (协办) by the department"),
)


def application(f: ServiceFacts, default_legal: int, calendar: WorkingDays) -> Application:
    """The figures of one completed application (promise and legal limit defaulted, working days counted)."""
    legal = default_legal if f.legal is None else f.legal
    promised = legal if f.promise is None else f.promise
    day0, day1 = f.received_at.astimezone(BEIJING).date(), f.resolved_at.astimezone(BEIJING).date()
    return Application(
        department=f.department, matter=f.matter, co_departments=f.co_departments, promised=promised,
        legal=legal, taken=max(0, calendar.working_days_between(day0, day1)), same_day=day0 == day1,
        rated=f.rated,
    )  # fmt: skip


def service_report(
    applications: Sequence[ServiceFacts],
    period: Period,
    as_of: dt.datetime,
    calendar: WorkingDays,
    default_legal: int,
    by_matter: bool = True,
    split: str = "none",
) -> Report:
    """The figures per (sub-period, lead department, matter), then the total over everything. ``split``
    (none, week, month, quarter) cuts the period by the day each application was completed."""
    parts = [] if split == "none" else periods.split(period, split)
    groups: dict[tuple[str, str, str], _Tally] = {}
    total = _Tally()
    for facts in applications:
        a = application(facts, default_legal, calendar)
        matter = a.matter if by_matter else ALL
        day = facts.resolved_at.astimezone(BEIJING).date()
        bucket = next((p.label for p in parts if p.start <= day <= p.end), "")
        groups.setdefault((bucket, a.department, matter), _Tally()).add(a)
        total.add(a)
        for co in a.co_departments:
            groups.setdefault((bucket, co, matter), _Tally()).co_handled += 1
            total.co_handled += 1
    rows = [(*key, *groups[key].row()) for key in sorted(groups)]
    rows.append(("合计", "合计", ALL, *total.row()))
    return Report(
        kind="service-centre",
        title="政务服务中心办件情况",
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        columns=COLUMNS,
        rows=tuple(rows),
        params={
            "by": "department,matter" if by_matter else "department",
            "default_legal": str(default_legal),
            "split": split,
        },
        notes=(
            "Rates count the lead department (主办); 协办件 only counts co-handling (并联审批).",
            "Working days: (received day, resolved day] on the official calendar; suspensions not subtracted.",
            "As of (recorded by) the moment above: later-recorded events are not counted.",
        ),
    )
