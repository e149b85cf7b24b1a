"""政府信息公开工作年度报告: the table on requests (收到和处理政府信息公开申请情况), as of a moment.

For the period (normally a year) and each applicant type: 一 new requests (received in the period), 二 carried
over (received before it and still open at its start), 三 the outcome of each request of 一 and 二 that is
finished at the period's end, by category and reason, and (七) their total, 四 carried into the next period (still
open at its end). So 一 + 二 = (七) + 四 in every column, by construction; the report checks it.

A request is finished by its latest resolution (a reopen makes it open again), a rejection, a merge into an
earlier request, or a closing. Its category is the latest resolution's ``disclosure`` outcome; where the events
carry none the rules are (docs/analysts.md, 'Reports'): merged → (五)2 重复申请; closed while suspended for a
correction (补正) without resolution → (六)1 逾期不补正; any other finish without an outcome → (六)3 其他, and
the notes say how many requests that was, so an office can complete its producers' data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from reports.facts import CaseEvent
from reports.labels import APPLICANT_TYPES, outcome_rows
from reports.periods import Period
from reports.table import Cell, Column, Report

TYPES: tuple[str, ...] = (
    "case.received", "case.resolved", "case.reopened", "case.rejected", "case.merged", "case.closed",
    "case.suspended", "case.resumed",
)  # fmt: skip
UNSTATED = "unstated"
_OTHER = "other.other"


def finish_at(events: Iterable[CaseEvent], moment: dt.datetime) -> tuple[bool, str | None, bool]:
    """(finished, outcome row key, classified by the events) of a request from its events before ``moment``."""
    finished, key, classified, suspended = False, None, False, False
    for e in events:
        if e.time >= moment:
            break
        t = e.type
        if t == "case.resolved":
            result = e.data.get("disclosure")
            finished, classified = True, result is not None
            if result is None:
                key = _OTHER
            else:
                reason = result.get("reason")
                key = result["outcome"] if reason is None else f"{result['outcome']}.{reason}"
        elif t == "case.reopened":
            finished, key, classified = False, None, False
        elif t == "case.rejected":
            finished, key, classified = True, _OTHER, False
        elif t == "case.merged":
            finished, key, classified = True, "not_processed.repeated", True
        elif t == "case.closed" and not finished:
            finished, key = True, "other.no_correction" if suspended else _OTHER
            classified = suspended
        elif t == "case.suspended":
            suspended = True
        elif t == "case.resumed":
            suspended = False
    return finished, key, classified


def _columns() -> tuple[Column, ...]:
    cols = [Column("row", "行", "row"), Column("item", "项目", "item")]
    cols += [Column(k, zh, en) for k, (zh, en) in APPLICANT_TYPES.items()]
    cols += [
        Column(UNSTATED, "未注明申请人类型", "applicant type not stated"),
        Column("total", "总计", "total"),
    ]
    return tuple(cols)


def annual_report(histories: Mapping[str, Sequence[CaseEvent]], period: Period, as_of: dt.datetime) -> Report:
    """The annual report's table over ``histories`` (every disclosure request received before the period's
    end, as recorded by ``as_of``; see :func:`reports.pg_facts.case_histories`)."""
    kinds = [*APPLICANT_TYPES, UNSTATED]
    counts: dict[str, dict[str, int]] = {}

    def add(row: str, applicant: str) -> None:
        counts.setdefault(row, dict.fromkeys(kinds, 0))[applicant] += 1

    unclassified = 0
    start, end = period.start_at, period.end_at
    for events in histories.values():
        received = next((e for e in events if e.type == "case.received"), None)
        if received is None:
            continue  # only later events were recorded by then: not a request yet
        applicant = str(received.data.get("applicant_type") or UNSTATED)
        if received.time >= start:
            add("new", applicant)
        elif not finish_at(events, start)[0]:
            add("carried_over", applicant)
        else:
            continue  # finished before the period: not this period's work
        finished, key, classified = finish_at(events, end)
        if not finished or key is None:
            add("carried_forward", applicant)
            continue
        add(key, applicant)
        add("outcome_total", applicant)
        unclassified += not classified
    rows: list[tuple[Cell, ...]] = []
    labels = [("new", "一、本年新收申请数量"), ("carried_over", "二、上年结转申请数量"),
              *outcome_rows(), ("outcome_total", "三、本年度办理结果 (七)总计"),
              ("carried_forward", "四、结转下年度继续办理")]  # fmt: skip
    for key, label in labels:
        values = counts.get(key, dict.fromkeys(kinds, 0))
        rows.append((key, label, *(values[k] for k in kinds), sum(values.values())))
    _check(counts, kinds)
    notes = [
        "一 + 二 = 三(七) + 四 in every column (checked).",
        "As of (recorded by) the moment above: later-recorded events are not counted.",
    ]
    if unclassified:
        notes.append(
            f"{unclassified} finished request(s) carried no disclosure outcome and are counted under "
            "(六)3 其他 (see docs/analysts.md, 'Reports')."
        )
    return Report(
        kind="disclosure-annual",
        title="政府信息公开工作年度报告 · 收到和处理政府信息公开申请情况",
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        columns=_columns(),
        rows=tuple(rows),
        notes=tuple(notes),
    )


def _check(counts: Mapping[str, Mapping[str, int]], kinds: Sequence[str]) -> None:
    for k in kinds:

        def get(row: str, kind: str = k) -> int:
            return counts.get(row, {}).get(kind, 0)

        if get("new") + get("carried_over") != get("outcome_total") + get("carried_forward"):
            raise AssertionError(f"disclosure report does not reconcile for {k}")  # a bug, never data
