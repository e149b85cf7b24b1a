"""The office figures (:mod:`casetrack.figures`) as terminal tables, labelled in Chinese and English as the offices'
own reports label them. Used by ``casetrack demo``; the end-to-end test reads these tables back."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from casetrack.figures import (
    CHANNELS,
    ESCALATION,
    RECTIFICATION_SOURCES,
    UNASSIGNED,
    Figures,
    RateRow,
)
from producers.generator import GenerationStats

#: rows of the department tables before the rest are summed into one line
TOP_DEPARTMENTS = 15


def pct(value: float | None) -> str:
    """A rate as the offices print it (98.12%); a dash when there is nothing to divide."""
    return "—" if value is None else f"{value * 100:.2f}%"


def num(value: int | float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def channel_label(channel: str) -> str:
    zh, en = CHANNELS.get(channel, (channel, ""))
    return f"{zh} {en}".strip()


def department_label(department: str | None) -> str:
    return department if department is not None else " ".join(UNASSIGNED)


def _table(title: str, *columns: str, caption: str | None = None, left: tuple[int, ...] = (0,)) -> Table:
    """A table with bilingual column headers; the ``left`` columns hold text, the others numbers."""
    t = Table(title=title, caption=caption, box=box.HEAVY_HEAD, title_style="bold", title_justify="left",
              caption_justify="left", header_style="bold cyan")  # fmt: skip
    for i, c in enumerate(columns):
        # "受理 Received" -> two header lines, so that the columns stay as narrow as their numbers
        zh, _, en = c.partition(" ")
        t.add_column(f"{zh}\n{en}" if en else zh, justify="left" if i in left else "right", no_wrap=True)
    return t


def _sum_rates(rows: list[RateRow], key: str) -> RateRow:
    return RateRow(
        key,
        sum(r.received for r in rows),
        sum(r.received_resolved for r in rows),
        sum(r.resolved for r in rows),
        sum(r.resolved_on_time for r in rows),
        sum(r.rated for r in rows),
        sum(r.satisfied for r in rows),
    )


def overview(f: Figures) -> Table:
    s = f.summary
    t = _table("概览 Overview", "指标 Figure", "数值 Value")
    period = (
        f"{s.first_received:%Y-%m-%d} → {s.last_received:%Y-%m-%d}"
        if s.first_received and s.last_received
        else "—"
    )
    for label, value in (
        ("统计期 Period (received)", period),
        ("受理 Cases received", num(s.received)),
        ("办结 Resolved", num(s.resolved)),
        ("办结率 Completion rate", pct(s.completion_rate)),
        ("按时办结率 On-time rate", pct(s.on_time_rate)),
        ("满意率 Satisfaction rate", pct(s.satisfaction_rate)),
        ("平均办理工作日 Avg working days", num(s.avg_working_days)),
        ("在办 Open cases", num(s.open_cases)),
        ("在办黄牌 Open, yellow", num(s.open_yellow)),
        ("在办红牌 Open, red (overdue)", num(s.open_red)),
    ):
        t.add_row(label, value)
    return t


def intake(f: Figures) -> Table:
    t = _table("受理渠道 Intake by channel", "渠道 Channel", "受理 Received", "占比 Share", "办结 Completed",
               "办结率 Completion", "按时办结率 On-time", "满意率 Satisfaction")  # fmt: skip
    total = _sum_rates(f.channels, "total")
    for r in f.channels:
        t.add_row(
            channel_label(r.key or ""), num(r.received), pct(r.received / total.received if total.received else None),
            num(r.received_resolved), pct(r.completion_rate), pct(r.on_time_rate), pct(r.satisfaction_rate),
        )  # fmt: skip
    t.add_section()
    t.add_row("合计 Total", num(total.received), pct(1.0 if total.received else None),
              num(total.received_resolved), pct(total.completion_rate), pct(total.on_time_rate),
              pct(total.satisfaction_rate), style="bold")  # fmt: skip
    return t


def departments(f: Figures, top: int = TOP_DEPARTMENTS) -> Table:
    rows = f.departments
    t = _table(
        "部门办理 Completion, on-time and satisfaction by department", "部门 Department", "受理 Received",
        "办结 Completed", "办结率 Completion", "按时办结率 On-time", "满意率 Satisfaction", "平均工作日 Avg days",
        caption=f"The {min(top, len(rows))} departments with the most cases; the rest summed below. "
        "Rates: completed ÷ received, on time ÷ resolved, satisfied ÷ rated.",
    )  # fmt: skip
    for r in rows[:top]:
        t.add_row(department_label(r.key), num(r.received), num(r.received_resolved), pct(r.completion_rate),
                  pct(r.on_time_rate), pct(r.satisfaction_rate), num(r.avg_working_days))  # fmt: skip
    t.add_section()
    if len(rows) > top:
        rest = _sum_rates(rows[top:], "rest")
        t.add_row(f"其余 {len(rows) - top} 个部门 Other departments", num(rest.received),
                  num(rest.received_resolved), pct(rest.completion_rate), pct(rest.on_time_rate),
                  pct(rest.satisfaction_rate), "")  # fmt: skip
    total = _sum_rates(rows, "total")
    t.add_row("合计 Total", num(total.received), num(total.received_resolved), pct(total.completion_rate),
              pct(total.on_time_rate), pct(total.satisfaction_rate), num(f.summary.avg_working_days),
              style="bold")  # fmt: skip
    return t


def petitions(f: Figures) -> Table:
    t = _table("信访 Petition tallies", "渠道 Channel", "登记 Received", "受理 Accepted", "不予受理 Rejected",
               "办结 Completed", "办结率 Completion", "按时办结率 On-time", "重复信访 Repeat",
               "复查 Review", "复核 Re-review")  # fmt: skip
    for r in f.petitions:
        t.add_row(channel_label(r.channel), num(r.received), num(r.accepted), num(r.rejected),
                  num(r.received_resolved), pct(r.completion_rate), pct(r.on_time_rate),
                  num(r.repeat_petitions), num(r.review_requests), num(r.re_review_requests))  # fmt: skip
    return t


def supervision(f: Figures) -> Table:
    s = f.supervision
    order = list(ESCALATION)
    stages = ", ".join(
        f"{ESCALATION.get(k, (k,))[0]} {v}"
        for k, v in sorted(s.by_stage.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    )
    t = _table(
        "督办 Overdue supervision orders", "督办单 Order", "事项 Title", "承办部门 Departments", "期限 Due",
        "逾期天数 Days over", "催办 Urged", "预警 Stage", "进度 Progress", left=(0, 1, 2, 6),
        caption=f"{s.issued:,} orders issued: {s.completed:,} completed ({s.completed_late:,} late), "
        f"{s.cancelled:,} cancelled, {s.open:,} open of which {s.overdue_open:,} overdue. "
        f"Open orders by urging stage: {stages or '—'}.",
    )  # fmt: skip
    for o in f.overdue_orders:
        # Chinese characters take two columns: keep the row on one line of a normal terminal
        title = o.title if len(o.title) <= 16 else o.title[:15] + "…"
        depts = (o.departments[0] if o.departments else "") + (
            f" 等{len(o.departments)}个" if len(o.departments) > 1 else ""
        )
        stage = " ".join(ESCALATION.get(o.escalation_stage, (o.escalation_stage, "")))
        t.add_row(o.order_id, title, depts, f"{o.due_date:%Y-%m-%d}", num(o.days_overdue), num(o.urge_count),
                  stage, "—" if o.progress_percent is None else f"{o.progress_percent}%")  # fmt: skip
    if not f.overdue_orders:
        t.add_row("(none)", "", "", "", "", "", "", "")
    return t


def rectification(f: Figures) -> Table:
    t = _table("整改 Rectification progress", "来源 Source", "整改事项 Items", "已销号 Verified",
               "待验收 Awaiting check", "整改中 In progress", "逾期 Overdue", "延期 Extended",
               "平均进度 Mean progress")  # fmt: skip
    for r in f.rectification:
        zh, en = RECTIFICATION_SOURCES.get(r.source, (r.source, ""))
        t.add_row(f"{zh} {en}".strip(), num(r.items), num(r.verified), num(r.awaiting_verification),
                  num(r.in_progress), num(r.overdue), num(r.extended), pct(r.mean_progress))  # fmt: skip
    rows = f.rectification
    items = sum(r.items for r in rows)
    mean = sum((r.mean_progress or 0.0) * r.items for r in rows) / items if items else None
    t.add_section()
    t.add_row("合计 Total", num(items), num(sum(r.verified for r in rows)),
              num(sum(r.awaiting_verification for r in rows)), num(sum(r.in_progress for r in rows)),
              num(sum(r.overdue for r in rows)), num(sum(r.extended for r in rows)), pct(mean),
              style="bold")  # fmt: skip
    return t


def scorecard(f: Figures, top: int = TOP_DEPARTMENTS) -> Table:
    p = f.penalty_points
    rule = (
        f"Score = yellow × {p.get('yellow', -5):g} + red × {p.get('red', -10):g} + overdue order × "
        f"{p.get('supervision_notice', -2):g} + overdue item × {p.get('overdue_rectification', 0):g}"
    )
    t = _table(
        "红黄牌 Yellow/red scorecard (worst first)", "部门 Department", "办结 Handled", "黄牌 Yellow",
        "红牌 Red", "督办逾期 Overdue orders", "整改逾期 Overdue items", "扣分 Score",
        caption=f"The {min(top, len(f.scorecard))} departments with the lowest score. {rule}.",
    )  # fmt: skip
    for r in f.scorecard[:top]:
        t.add_row(department_label(r.department), num(r.cases_handled), num(r.yellow), num(r.red),
                  num(r.overdue_supervision), num(r.overdue_rectification), f"{r.penalty:g}")  # fmt: skip
    return t


def accounting(f: Figures, published: GenerationStats | None) -> Table:
    a = f.accounting
    t = _table("管道核对 Pipeline accounting", "项目 Item", "消息 Messages", "说明 Note", left=(0, 2))
    if published is not None:
        t.add_row("发布 Published", num(published.total), f"{published.valid:,} events ({published.late:,} "
                  f"late), {published.duplicates:,} duplicates, {published.malformed:,} malformed")  # fmt: skip
    t.add_row("消费 Consumed", num(a.consumed), "records read and committed")
    t.add_row("入库 Applied", num(a.applied), "events folded into the projections (event store)")
    t.add_row("重复 Duplicates", num(a.duplicates), "skipped by event id")
    t.add_row("死信 Dead-lettered", num(a.dead_lettered), "to <topic>.dlq and casetrack.dead_letters")
    for reason, n in a.dead_letters.items():
        t.add_row(f"  · {reason}", num(n), "")
    return t


def print_figures(console: Console, f: Figures, published: GenerationStats | None = None) -> None:
    """Every table, in the order an office report reads."""
    tables: list[Any] = [
        overview(f), intake(f), departments(f), petitions(f), supervision(f), rectification(f), scorecard(f),
        accounting(f, published),
    ]  # fmt: skip
    for t in tables:
        console.print()
        console.print(t)
