"""The office figures (:mod:`casetrack.figures`) as terminal tables, labelled in Chinese and English as the offices'
own reports label them. Used by ``casetrack demo``; the end-to-end test reads these tables back."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.cells import cell_len
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


class FigTable:
    """A table of figures that fits the terminal: when its columns are wider than the console, the figure
    columns are stacked into several tables, each repeating the label column, instead of being cut. Cells are
    never truncated: numbers keep their full width, text wraps (docs/operators.md, "Output")."""

    LABEL_MAX = 24  # label column width when the table has to be split (longer labels wrap)
    TEXT_MAX = 20  # width of other text columns when split (they wrap)

    def __init__(
        self, title: str, columns: tuple[str, ...], caption: str | None, left: tuple[int, ...]
    ) -> None:
        self.title, self.caption, self.left = title, caption, left
        # "受理 Received" -> two header lines, so that the columns stay as narrow as their numbers
        self.headers = [f"{zh}\n{en}" if en else zh for zh, _, en in (c.partition(" ") for c in columns)]
        self.rows: list[tuple[tuple[str, ...], str | None, bool]] = []  # (cells, style, section before)
        self._section = False

    def add_row(self, *cells: str, style: str | None = None) -> None:
        self.rows.append((cells, style, self._section))
        self._section = False

    def add_section(self) -> None:
        self._section = True

    def _natural(self, i: int) -> int:
        return max(
            [cell_len(line) for line in self.headers[i].splitlines()]
            + [max((cell_len(x) for x in r[0][i].splitlines()), default=0) for r in self.rows]
        )

    def render(self, width: int) -> list[Table]:
        """One table if it fits ``width`` columns, else the figure columns in groups that fit, each group
        with the label column; the title says "continued" and the caption goes under the last."""
        widths = [self._natural(i) for i in range(len(self.headers))]
        if 1 + sum(w + 3 for w in widths) <= width:
            return [self._table(self.title, [0, *range(1, len(widths))], widths, self.caption)]
        widths[0] = min(widths[0], self.LABEL_MAX)
        for i in self.left[1:] if self.left and self.left[0] == 0 else self.left:
            widths[i] = min(widths[i], self.TEXT_MAX)
        budget = width - 1 - (widths[0] + 3)
        groups = _pack(widths[1:], budget)
        # as few tables as the greedy packing needs, but with the columns spread evenly over them
        even = _pack(widths[1:], min(budget, -(-sum(w + 3 for w in widths[1:]) // len(groups)) + 8))
        groups = even if len(even) == len(groups) else groups
        return [
            self._table(
                self.title if k == 0 else f"{self.title} (continued)",
                [0, *g], widths, self.caption if k == len(groups) - 1 else None,
            )
            for k, g in enumerate(groups)
        ]  # fmt: skip

    def _table(self, title: str, cols: list[int], widths: list[int], caption: str | None) -> Table:
        t = Table(title=title, caption=caption, box=box.HEAVY_HEAD, title_style="bold", title_justify="left",
                  caption_justify="left", header_style="bold cyan")  # fmt: skip
        for i in cols:
            if i in self.left:
                t.add_column(self.headers[i], justify="left", overflow="fold", min_width=widths[i],
                             max_width=widths[i])  # fmt: skip
            else:  # figures: never wrapped, never cut
                t.add_column(self.headers[i], justify="right", no_wrap=True, min_width=widths[i])
        for cells, style, section in self.rows:
            if section:
                t.add_section()
            t.add_row(*(cells[i] for i in cols), style=style)
        return t


def _pack(widths: list[int], budget: int) -> list[list[int]]:
    """Column numbers (from 1) in consecutive groups whose widths (plus 3 each) fit ``budget``."""
    groups: list[list[int]] = [[]]
    used = 0
    for i, w in enumerate(widths, start=1):
        if groups[-1] and used + w + 3 > budget:
            groups.append([])
            used = 0
        groups[-1].append(i)
        used += w + 3
    return groups


def _table(title: str, *columns: str, caption: str | None = None, left: tuple[int, ...] = (0,)) -> FigTable:
    """A table with bilingual column headers; the ``left`` columns hold text, the others numbers."""
    return FigTable(title, columns, caption, left)


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


def overview(f: Figures) -> FigTable:
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


def intake(f: Figures) -> FigTable:
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


def departments(f: Figures, top: int = TOP_DEPARTMENTS) -> FigTable:
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


def petitions(f: Figures) -> FigTable:
    t = _table("信访 Petition tallies", "渠道 Channel", "登记 Received", "受理 Accepted", "不予受理 Rejected",
               "办结 Completed", "办结率 Completion", "按时办结率 On-time", "重复信访 Repeat",
               "复查 Review", "复核 Re-review")  # fmt: skip
    for r in f.petitions:
        t.add_row(channel_label(r.channel), num(r.received), num(r.accepted), num(r.rejected),
                  num(r.received_resolved), pct(r.completion_rate), pct(r.on_time_rate),
                  num(r.repeat_petitions), num(r.review_requests), num(r.re_review_requests))  # fmt: skip
    return t


def supervision(f: Figures) -> FigTable:
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
        title = o.title  # wraps in its column when the terminal is narrow; never cut
        depts = (o.departments[0] if o.departments else "") + (
            f" 等{len(o.departments)}个" if len(o.departments) > 1 else ""
        )
        stage = " ".join(ESCALATION.get(o.escalation_stage, (o.escalation_stage, "")))
        t.add_row(o.order_id, title, depts, f"{o.due_date:%Y-%m-%d}", num(o.days_overdue), num(o.urge_count),
                  stage, "—" if o.progress_percent is None else f"{o.progress_percent}%")  # fmt: skip
    if not f.overdue_orders:
        t.add_row("(none)", "", "", "", "", "", "", "")
    return t


def rectification(f: Figures) -> FigTable:
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


def scorecard(f: Figures, top: int = TOP_DEPARTMENTS) -> FigTable:
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


def accounting(f: Figures, published: GenerationStats | None) -> FigTable:
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
        for part in t.render(console.width):
            console.print()
            console.print(part)
