"""The demo's HTML report: one self-contained file (inline CSS and SVG, no script, no CDN) built from
:class:`reports.figure_rows.Figures`, so it opens offline and prints cleanly.

The page follows :mod:`casetrack.report_template` (``report_template.html``, a :class:`string.Template`); the charts
come from :mod:`casetrack.report_charts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from string import Template
from typing import Protocol

from casetrack import report_charts as charts
from casetrack.demo_tables import channel_label, department_label, num, pct
from producers.generator import GenerationStats
from reports import build, formats, pg_facts
from reports.figure_rows import CHANNELS, ESCALATION, RECTIFICATION_SOURCES, Figures, RateRow
from reports.periods import Period
from reports.pg_reads import Connection
from reports.service_centre import WorkingDays
from reports.table import Report

TEMPLATE = Path(__file__).with_name("report_template.html")
RANKED_DEPARTMENTS = 20  # departments in the ranking chart and the heat map
TABLE_DEPARTMENTS = 30


class Calendar(Protocol):
    def is_working_day(self, day: dt.date) -> bool: ...


@dataclass(frozen=True)
class ReportMeta:
    """How the data was made (shown in the header and footer)."""

    run_id: str
    generated_at: dt.datetime
    start: dt.date
    end: dt.date
    seed: int
    cases_per_day: int
    published: GenerationStats | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _rate_cell(rate: float | None, warn: float = 0.95, bad: float = 0.85) -> str:
    cls = "" if rate is None or rate >= warn else ' class="rate-warn"' if rate >= bad else ' class="rate-bad"'
    return f"<td><span{cls}>{pct(rate)}</span></td>" if cls else f"<td>{pct(rate)}</td>"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], total: Sequence[str] | None = None) -> str:
    """An HTML table; cells are HTML already (``<td>`` added unless a cell starts with one)."""

    def cells(row: Sequence[str]) -> str:
        return "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)

    first = rows[0] if rows else []

    def th(i: int, h: str) -> str:  # "受理 Received": the English name on a second, lighter line
        zh, _, en = h.partition(" ")
        left = ' class="text"' if i < len(first) and first[i].startswith('<td class="text') else ""
        return f'<th{left}>{zh}<br><span class="en">{en}</span></th>' if en else f"<th{left}>{zh}</th>"

    head = "".join(th(i, h) for i, h in enumerate(headers))
    body = "".join(f"<tr>{cells(r)}</tr>" for r in rows)
    foot = f'<tr class="total">{cells(total)}</tr>' if total else ""
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}{foot}</tbody></table></div>'
    )


def card(title: str, title_en: str, content: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section class="card"><h2>{title}<span class="en">{title_en}</span></h2>{note_html}{content}</section>'


def _kpi(label: str, value: str, sub: str = "", tone: str = "") -> str:
    return (
        f'<div class="kpi {tone}"><div class="label">{label}</div><div class="value">{value}</div>'
        f'<div class="sub">{sub}</div></div>'
    )


def _tone(rate: float | None, warn: float = 0.95, bad: float = 0.85) -> str:
    return "" if rate is None else "good" if rate >= warn else "warn" if rate >= bad else "bad"


def kpis(f: Figures) -> str:
    s, sup = f.summary, f.supervision
    tiles = [
        _kpi("受理 Cases received", num(s.received), f"{len(f.channels)} channels 渠道"),
        _kpi("办结率 Completion", pct(s.completion_rate), f"{s.received_resolved:,} of the cases received resolved"),
        _kpi("按时办结率 On-time", pct(s.on_time_rate), f"{s.resolved_on_time:,} of {s.resolved:,} resolved",
             _tone(s.on_time_rate)),
        _kpi("满意率 Satisfaction", pct(s.satisfaction_rate), f"{s.satisfied:,} of {s.rated:,} rated",
             _tone(s.satisfaction_rate)),
        _kpi("平均办理 Avg working days", num(s.avg_working_days), "per resolved case"),
        _kpi("在办红牌 Open red", num(s.open_red), f"yellow 黄牌 {s.open_yellow:,} · open {s.open_cases:,}",
             "bad" if s.open_red else "good"),
        _kpi("督办逾期 Overdue orders", num(sup.overdue_open), f"of {sup.open:,} open · {sup.issued:,} issued",
             "bad" if sup.overdue_open else "good"),
    ]  # fmt: skip
    return f'<div class="kpis">{"".join(tiles)}</div>'


def trend_section(f: Figures, calendar: Calendar) -> str:
    points = [(d.day, d.received, d.on_time_rate if d.resolved >= 5 else None) for d in f.daily]
    rest = {d.day for d in f.daily if not calendar.is_working_day(d.day)}
    note = ("Bars: cases received each day (light bars: weekends and holidays per the official calendar, incl. "
            "调休). Line: the share of the day's resolutions made by their deadline (days with ≥ 5 resolutions). "
            "The last day is today, so far.")  # fmt: skip
    return card("每日受理量与按时办结率", "Daily intake and on-time rate", charts.trend(points, rest), note)


def channel_section(f: Figures) -> str:
    rows = sorted(f.channels, key=lambda r: -r.received)
    total = sum(r.received for r in rows) or 1
    bars = [charts.Bar(channel_label(r.key or ""), r.received, f"{r.received:,} ({r.received / total:.1%})")
            for r in rows]  # fmt: skip
    headers = [
        "渠道 Channel",
        "受理 Received",
        "办结率 Completion",
        "按时办结率 On-time",
        "满意率 Satisfaction",
    ]
    body = [[f'<td class="text">{_e(channel_label(r.key or ""))}</td>', num(r.received), pct(r.completion_rate),
             _rate_cell(r.on_time_rate), _rate_cell(r.satisfaction_rate)] for r in f.channels]  # fmt: skip
    chart = charts.hbars(bars, width=580, label_width=230)
    return card("受理渠道", "Intake by channel", chart + '<div class="gap"></div>' + table(headers, body))


def ranking_section(f: Figures) -> str:
    volume = [r for r in f.departments if r.key is not None and r.resolved >= 10][:RANKED_DEPARTMENTS]
    ranked = sorted(volume, key=lambda r: (-(r.on_time_rate or 0.0), -r.resolved))
    rates = [r.on_time_rate or 0.0 for r in ranked]
    lo = max(0.0, int((min(rates, default=0.9) - 0.05) * 10) / 10)
    bars = [
        charts.Bar(
            department_label(r.key), r.on_time_rate or 0.0, f"{pct(r.on_time_rate)}  n={r.resolved:,}",
            charts.GREEN if (r.on_time_rate or 0) >= 0.95 else charts.AMBER if (r.on_time_rate or 0) >= 0.85
            else charts.RED,
        )
        for r in ranked
    ]  # fmt: skip
    svg = charts.hbars(bars, value_min=lo, value_max=1.0, width=580, label_width=230,
                       tick_format=lambda v: f"{v:.0%}", caption=f"axis starts at {lo:.0%}", right=140)  # fmt: skip
    note = (f"按时办结率 of the {len(ranked)} busiest departments (≥ 10 resolved): green ≥ 95%, amber ≥ 85%, "
            "red below.")  # fmt: skip
    return card("部门按时办结率排名", "Department ranking", svg, note)


def heatmap_section(f: Figures) -> str:
    pts = f.penalty_points
    wy, wr = abs(pts.get("yellow", -5.0)) or 5.0, abs(pts.get("red", -10.0)) or 10.0
    # every week of the period, so a quiet week shows as quiet rather than missing
    weeks = sorted(
        {d.day - dt.timedelta(days=d.day.weekday()) for d in f.daily} | {c.week for c in f.heatmap}
    )
    score: dict[str | None, float] = {}
    for c in f.heatmap:
        score[c.department] = score.get(c.department, 0.0) + c.yellow * wy + c.red * wr
    depts = sorted(score, key=lambda d: (-score[d], d or ""))[:RANKED_DEPARTMENTS]
    row_of = {d: i for i, d in enumerate(depts)}
    col_of = {w: j for j, w in enumerate(weeks)}
    cells = {
        (row_of[c.department], col_of[c.week]): (c.yellow, c.red) for c in f.heatmap if c.department in row_of
    }
    columns = [f"{w:%m-%d} 周 week" for w in weeks]
    svg = charts.heatmap([department_label(d) for d in depts], columns, cells, (wy, wr))
    note = (f"The {len(depts)} departments with the most penalty points; columns are weeks starting Monday. A yellow "
            "card counts in the week the case turned yellow, a red one in the week its deadline passed. Colour: "
            f"penalty points (yellow {wy:g}, red {wr:g}).")  # fmt: skip
    legend = ('<div class="legend"><span><i style="background:#fff7ed"></i>few points</span>'
              '<span><i style="background:#ea580c"></i>more</span><span><i style="background:#b91c1c"></i>'
              "most</span><span>红 red · 黄 yellow</span></div>")  # fmt: skip
    return card(
        "预警热力图", "Warning heat map: yellow and red cards by department and week", svg + legend, note
    )


def _rate_row(r: RateRow, label: str) -> list[str]:
    return [
        f'<td class="text">{_e(label)}</td>', num(r.received), num(r.received_resolved), pct(r.completion_rate),
        num(r.resolved), _rate_cell(r.on_time_rate), _rate_cell(r.satisfaction_rate), num(r.avg_working_days),
    ]  # fmt: skip


def department_table(f: Figures) -> str:
    rows = f.departments
    total = RateRow("total", *(sum(getattr(r, a) for r in rows) for a in (
        "received", "received_resolved", "resolved", "resolved_on_time", "rated", "satisfied")))  # fmt: skip
    headers = ["部门 Department", "受理 Received", "办结 Completed", "办结率 Completion", "期内办结 Resolved in period",
               "按时办结率 On-time", "满意率 Satisfaction", "平均工作日 Avg days"]  # fmt: skip
    body = [_rate_row(r, department_label(r.key)) for r in rows[:TABLE_DEPARTMENTS]]
    foot = _rate_row(total, "合计 Total")
    foot[-1] = num(f.summary.avg_working_days)
    note = (f"The {min(TABLE_DEPARTMENTS, len(rows))} departments with the most cases (of {len(rows)}; the total counts "
            "all). 办结率 = resolved ÷ received; 按时办结率 = resolved on time ÷ resolved in the period; 满意率 = "
            "satisfied ÷ rated (基本满意 counts as satisfied).")  # fmt: skip
    return card(
        "部门办理情况", "Completion, on-time and satisfaction by department", table(headers, body, foot), note
    )


def scorecard_table(f: Figures) -> str:
    headers = ["部门 Department", "办结 Handled", "黄牌 Yellow", "红牌 Red", "督办逾期 Overdue orders",
               "整改逾期 Overdue items", "扣分 Score"]  # fmt: skip
    body = [[f'<td class="text">{_e(department_label(r.department))}</td>', num(r.cases_handled), num(r.yellow),
             num(r.red), num(r.overdue_supervision), num(r.overdue_rectification), f"<b>{r.penalty:g}</b>"]
            for r in f.scorecard[:RANKED_DEPARTMENTS]]  # fmt: skip
    p = f.penalty_points
    note = (f"Worst {min(RANKED_DEPARTMENTS, len(f.scorecard))} of {len(f.scorecard)} departments. Score = yellow × "
            f"{p.get('yellow', -5):g} + red × {p.get('red', -10):g} + overdue supervision order × "
            f"{p.get('supervision_notice', -2):g} + overdue rectification item × {p.get('overdue_rectification', 0):g}.")  # fmt: skip
    return card("红黄牌计分", "Yellow/red scorecard", table(headers, body), note)


def petition_table(f: Figures) -> str:
    headers = ["渠道 Channel", "登记 Received", "受理 Accepted", "不予受理 Rejected", "办结 Completed",
               "办结率 Completion", "按时办结率 On-time", "重复信访 Repeat", "复查 Review", "复核 Re-review"]  # fmt: skip
    body = [[f'<td class="text">{_e(channel_label(r.channel))}</td>', num(r.received), num(r.accepted),
             num(r.rejected), num(r.received_resolved), pct(r.completion_rate),
             _rate_cell(r.on_time_rate), num(r.repeat_petitions), num(r.review_requests), num(r.re_review_requests)]
            for r in f.petitions]  # fmt: skip
    return card(
        "信访",
        "Petition tallies",
        table(headers, body),
        "Letters, visits and online petitions. Repeat: the petitioner (by pseudonym) petitioned before.",
    )


def supervision_table(f: Figures) -> str:
    s = f.supervision
    headers = ["督办单 Order", "事项 Title", "承办部门 Departments", "期限 Due", "逾期天数 Days over",
               "催办 Urged", "预警 Stage", "进度 Progress"]  # fmt: skip
    body = []
    for o in f.overdue_orders:
        zh, en = ESCALATION.get(o.escalation_stage, (o.escalation_stage, o.escalation_stage))
        body.append([
            f'<td class="text">{_e(o.order_id)}</td>', f'<td class="text wrap">{_e(o.title)}</td>',
            f'<td class="text wrap">{_e("、".join(o.departments))}</td>', f"{o.due_date:%Y-%m-%d}", num(o.days_overdue),
            num(o.urge_count), f'<span class="pill {_e(o.escalation_stage)}">{_e(zh)} {_e(en)}</span>',
            "—" if o.progress_percent is None else f"{o.progress_percent}%",
        ])  # fmt: skip
    note = (f"{s.issued:,} orders issued: {s.completed:,} completed ({s.completed_late:,} late), {s.cancelled:,} "
            f"cancelled, {s.open:,} open, of which <b>{s.overdue_open:,} overdue</b>. The most urged overdue orders:")  # fmt: skip
    content = table(headers, body) if body else "<p>No open order is overdue.</p>"
    return card("督办逾期", "Overdue supervision orders", content, note)


def rectification_table(f: Figures) -> str:
    headers = ["来源 Source", "整改事项 Items", "已销号 Verified", "待验收 Awaiting check", "整改中 In progress",
               "逾期 Overdue", "延期 Extended", "平均进度 Mean progress"]  # fmt: skip
    rows = f.rectification
    body = [[f'<td class="text">{_e(" ".join(RECTIFICATION_SOURCES.get(r.source, (r.source, ""))))}</td>',
             num(r.items), num(r.verified), num(r.awaiting_verification), num(r.in_progress), num(r.overdue),
             num(r.extended), pct(r.mean_progress)] for r in rows]  # fmt: skip
    items = sum(r.items for r in rows)
    mean = sum((r.mean_progress or 0.0) * r.items for r in rows) / items if items else None
    foot = ['<td class="text">合计 Total</td>', num(items), num(sum(r.verified for r in rows)),
            num(sum(r.awaiting_verification for r in rows)), num(sum(r.in_progress for r in rows)),
            num(sum(r.overdue for r in rows)), num(sum(r.extended for r in rows)), pct(mean)]  # fmt: skip
    return card(
        "整改进度",
        "Rectification progress",
        table(headers, body, foot),
        "Items found by inspections, audits, supervision, public review and petitions; 销号 = signed off.",
    )


def accounting_table(f: Figures, published: GenerationStats | None) -> str:
    a = f.accounting
    rows: list[list[str]] = []
    if published is not None:
        rows.append(['<td class="text">发布 Published</td>', num(published.total),
                     f'<td class="text">{published.valid:,} events ({published.late:,} late, out of order), '
                     f"{published.duplicates:,} duplicates, {published.malformed:,} malformed</td>"])  # fmt: skip
    rows += [
        ['<td class="text">消费 Consumed</td>', num(a.consumed), '<td class="text">records read and committed</td>'],
        ['<td class="text">入库 Applied</td>', num(a.applied), '<td class="text">events folded (event store)</td>'],
        ['<td class="text">重复 Duplicates</td>', num(a.duplicates), '<td class="text">skipped by event id</td>'],
        ['<td class="text">死信 Dead-lettered</td>', num(a.dead_lettered),
         '<td class="text">to &lt;topic&gt;.dlq, listed by <code>casetrack dlq list</code></td>'],
    ]  # fmt: skip
    rows += [[f'<td class="text">&nbsp;&nbsp;· {_e(r)}</td>', num(n), ""] for r, n in a.dead_letters.items()]
    return card(
        "管道核对",
        "Pipeline accounting",
        table(["项目 Item", "消息 Messages", "说明 Note"], rows),
        "consumed = applied + duplicates + dead-lettered; every published message is accounted for.",
    )


def office_reports(
    conn: Connection, start: dt.date, end: dt.date, calendar: WorkingDays, default_legal: int
) -> list[Report]:
    """The office reports of ``casetrack report`` over the days ``start`` .. ``end``, as of now."""
    period = Period(f"{start}..{end}", "custom", start, end)
    with conn:
        as_of = pg_facts.settled_as_of(conn, None)
    return [
        build.service_centre_figures(conn, period, as_of, calendar, default_legal, by_matter=False),
        build.petition_statistics(conn, period, as_of, "none"),
        build.disclosure_annual(conn, period, as_of),
    ]


_OFFICE_TITLES = {
    "service-centre": ("政务服务中心办件情况", "Service-centre figures (casetrack report service-centre)"),
    "petitions": ("信访批次与人次", "Petition statistics (casetrack report petitions)"),
    "disclosure-annual": (
        "政府信息公开申请情况",
        "Disclosure requests in the annual report's format (casetrack report disclosure-annual)",
    ),
}


def office_sections(office: Sequence[Report]) -> str:
    """One card per office report (the same table as ``casetrack report ... --format html``)."""
    cards = []
    for r in office:
        zh, en = _OFFICE_TITLES.get(r.kind, (r.title, r.kind))
        cards.append(card(zh, en, formats.html_table(r)))
    return "\n".join(cards)


def render(f: Figures, meta: ReportMeta, calendar: Calendar, office: Sequence[Report] = ()) -> str:
    """The report as one HTML string; ``office`` adds the office reports (:func:`office_reports`)."""
    body = "\n".join([
        kpis(f),
        trend_section(f, calendar),
        f'<div class="grid2">{channel_section(f)}{ranking_section(f)}</div>',
        heatmap_section(f),
        department_table(f),
        scorecard_table(f),
        supervision_table(f),
        petition_table(f),
        rectification_table(f),
        office_sections(office),
        accounting_table(f, meta.published),
    ])  # fmt: skip
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in meta.timings.items())
    footer = (f"Generated {meta.generated_at:%Y-%m-%d %H:%M} (Asia/Shanghai) by <code>casetrack demo</code> · run "
              f"<code>{_e(meta.run_id)}</code> · seed {meta.seed} · {meta.cases_per_day:,} cases/day"
              f"{' · ' + _e(timing) if timing else ''}. Simulated data from the workload generator; every figure is "
              "read from the analysts' views (docs/analysts.md). Wall-clock figures (warnings, overdue) are as of "
              "the time above.")  # fmt: skip
    channels = len([c for c in f.channels if c.key in CHANNELS])
    monthly = 28 <= (meta.end - meta.start).days + 1 <= 31
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=_e(f"casetrack 案件办理月报 {meta.start} – {meta.end}"),
        heading="城市案件办理月报" if monthly else "城市案件办理报告",
        heading_en="City case work · monthly report" if monthly else "City case work · report",
        subtitle=_e(
            f"统计期 {meta.start:%Y-%m-%d} 至 {meta.end:%Y-%m-%d} · Period {meta.start:%d %b} – "
            f"{meta.end:%d %b %Y} · {f.summary.received:,} cases from {channels} channels"
        ),  # fmt: skip
        body=body,
        footer=footer,
    )


def write(
    path: Path, f: Figures, meta: ReportMeta, calendar: Calendar, office: Sequence[Report] = ()
) -> Path:
    """Write the report to ``path`` (folders created); returns its absolute path."""
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(f, meta, calendar, office), encoding="utf-8")
    return path
