"""What the read queries (:mod:`reports.pg_reads`) return: the office figures and the domain metrics' rows as plain
dataclasses, and the Chinese and English names the tables and the report give to the views' wire values. Rates are
properties computed from the counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

CHANNELS: dict[str, tuple[str, str]] = {
    "hotline_12345": ("12345热线", "12345 hotline"),
    "hotline_12319": ("12319热线", "12319 housing line"),
    "mayor_mailbox": ("市长信箱", "Mayor's mailbox"),
    "letter": ("来信", "Petition letter"),
    "visit": ("来访", "Petition visit"),
    "online_petition": ("网上信访", "Online petition"),
    "npc_suggestion": ("人大建议", "NPC suggestion"),
    "cppcc_proposal": ("政协提案", "CPPCC proposal"),
    "city_management": ("数字城管", "City management"),
    "disclosure_request": ("依申请公开", "Disclosure request"),
    "service_center": ("政务服务中心", "Service centre"),
    # the default policy's channels beyond the contract (issue 19): operators may add more (docs/deadlines.md)
    "hotline_12315": ("12315热线", "12315 market line"),
    "bureau_hotline": ("局内热线", "Bureau line"),
    "efficiency_complaint": ("效能投诉", "Efficiency complaint"),
}
RECTIFICATION_SOURCES: dict[str, tuple[str, str]] = {
    "inspection": ("巡视巡察", "Inspection"),
    "audit": ("审计", "Audit"),
    "supervision": ("督查", "Supervision"),
    "public_review": ("民主评议", "Public review"),
    "petition": ("信访", "Petition"),
}
ESCALATION: dict[str, tuple[str, str]] = {
    "none": ("未催办", "none"),
    "blue": ("蓝色", "blue"),
    "orange": ("橙色", "orange"),
    "red": ("红色", "red"),
}
UNASSIGNED = ("(未分派)", "(unassigned)")


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide by (the views' NULL rate)."""
    return part / whole if whole else None


class _Rates:
    """办结率 = resolved ÷ received (the cohort), 按时办结率 = resolved on time ÷ resolved (for the dataclasses below,
    which declare these counts as fields)."""

    received: int
    received_resolved: int
    resolved: int
    resolved_on_time: int

    @property
    def completion_rate(self) -> float | None:
        return ratio(self.received_resolved, self.received)

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.resolved_on_time, self.resolved)


class _Satisfaction:
    """满意率 = satisfied ÷ rated."""

    rated: int
    satisfied: int

    @property
    def satisfaction_rate(self) -> float | None:
        return ratio(self.satisfied, self.rated)


@dataclass(frozen=True)
class Summary(_Rates, _Satisfaction):
    """The headline figures of the period."""

    first_received: dt.datetime | None
    last_received: dt.datetime | None
    received: int
    received_resolved: int  # of the cases received, resolved by now
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
    followed_up: int
    open_cases: int  # unresolved, not rejected or merged
    open_yellow: int
    open_red: int
    avg_working_days: float | None


@dataclass(frozen=True)
class RateRow(_Rates, _Satisfaction):
    """Completion, on-time and satisfaction counts of one channel or department (``key`` None: unassigned)."""

    key: str | None
    received: int
    received_resolved: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
    avg_working_days: float | None = None


@dataclass(frozen=True)
class PetitionRow(_Rates):
    """``petition_tallies`` summed per channel."""

    channel: str
    received: int
    accepted: int
    rejected: int
    received_resolved: int
    resolved: int
    resolved_on_time: int
    repeat_petitions: int
    review_requests: int
    re_review_requests: int


@dataclass(frozen=True)
class SupervisionSummary:
    issued: int
    completed: int
    completed_late: int
    cancelled: int
    open: int
    overdue_open: int
    by_stage: dict[str, int]  # escalation stage of the open orders


@dataclass(frozen=True)
class OverdueOrder:
    order_id: str
    title: str
    issued_by: str | None
    departments: list[str]
    due_date: dt.date
    days_overdue: int
    urge_count: int
    escalation_stage: str
    progress_percent: int | None


@dataclass(frozen=True)
class RectificationRow:
    """``rectification_items`` per source (整改来源)."""

    source: str
    items: int
    verified: int  # signed off (销号)
    awaiting_verification: int  # completed, not yet verified
    in_progress: int  # open, in progress or rejected
    overdue: int
    extended: int
    mean_progress: float | None


@dataclass(frozen=True)
class ScoreRow:
    """``department_scorecard`` summed over the period's months."""

    department: str | None
    cases_handled: int
    yellow: int
    red: int
    overdue_supervision: int
    overdue_rectification: int
    penalty: float


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    received: int
    resolved: int
    resolved_on_time: int

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.resolved_on_time, self.resolved)


@dataclass(frozen=True)
class HeatCell:
    """Yellow and red cards of one department in one week (Monday), attributed as in the scorecard."""

    department: str | None
    week: dt.date
    yellow: int
    red: int


@dataclass(frozen=True)
class Accounting:
    """What the consumer did with what it read (consumed = applied + duplicates + dead-lettered)."""

    consumed: int
    applied: int
    dead_letters: dict[str, int]  # by reason

    @property
    def dead_lettered(self) -> int:
        return sum(self.dead_letters.values())

    @property
    def duplicates(self) -> int:
        return self.consumed - self.applied - self.dead_lettered


@dataclass(frozen=True)
class Figures:
    """Everything ``casetrack demo`` prints and reports."""

    summary: Summary
    channels: list[RateRow]
    departments: list[RateRow]  # by cases received, largest first
    petitions: list[PetitionRow]
    supervision: SupervisionSummary
    overdue_orders: list[OverdueOrder]
    rectification: list[RectificationRow]
    scorecard: list[ScoreRow]  # worst penalty first
    daily: list[DayPoint]
    heatmap: list[HeatCell]
    accounting: Accounting
    penalty_points: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DepartmentRow:
    """One (channel, department) of the month in ``completion_rates`` (the domain metrics' ratios)."""

    channel: str
    department: str
    received: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
