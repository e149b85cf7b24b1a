"""Who answers for what on a case: the cards (红黄牌, violations) and the figures of earlier 重办 cycles.

Rules (docs/deadlines.md, "Who is charged"; domain.md): each card goes to the party responsible for the step
that overran. A late 退单 goes to the department that returned the case; an overdue resolution to the
department holding the case when the deadline passed (the intake office, the CloudEvents ``source`` of
``case.received``, while nobody held it); a late acceptance, routing, 补正 notice or review decision to the
intake office; an extension beyond the channel's cap (a violation) to the department holding the case when
it was recorded. Cards that no longer depend on the wall clock (steps done late, extension violations,
earlier cycles' yellow and red) are written out as JSON here; the current cycle's yellow and red and a
pending step past its limit follow the wall clock, so ``public.case_penalty_items`` derives those from
the row's ``yellow_department`` / ``due_department`` / ``step_due_department`` columns.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from projections.case_status import CaseState, CycleExtras, PastCycle
from projections.deadlines import SHANGHAI, Deadline, end_of_day, local_date
from projections.policy import DEFAULT_LEGAL_LIMIT, ChannelRule

if TYPE_CHECKING:
    from projections.calendar import WorkCalendar

_TICK = dt.timedelta(microseconds=1)


class Card(NamedTuple):
    """One card: ``cause`` (a step name, ``overdue``, ``yellow`` or ``extension_over_cap``), ``card``
    (``red`` / ``yellow`` / ``violation``), the department charged, when it was earned (a limit's end, or
    the moment of the violation) and, for a step done late, when it was done."""

    cause: str
    card: str
    department: str | None
    at: dt.datetime
    done: dt.datetime | None


class CardFacts(NamedTuple):
    """The current cycle's derived deadline and its step cards, as :mod:`projections.case_deadlines` found them."""

    deadline: Deadline
    due_at: dt.datetime | None
    yellow_at: dt.datetime | None
    step_cards: list[Card]
    step_due_cause: str | None
    rule: ChannelRule


class CaseKey(NamedTuple):
    """The facts of a case the deadline view depends on (hashable: the memo's key)."""

    channel: str
    urgency: str
    time_limit_days: int | None
    legal_time_limit_days: int | None
    received_at: dt.datetime
    accepted_at: dt.datetime | None
    first_assigned_at: dt.datetime | None
    clock_restarted_at: dt.datetime | None
    extensions: tuple[tuple[int, str | None], ...]
    extension_times: tuple[dt.datetime, ...]
    suspensions: tuple[tuple[dt.datetime, dt.datetime | None], ...]
    suspension_kinds: tuple[str, ...]
    resolved_at: dt.datetime | None
    returns: tuple[tuple[dt.datetime, dt.datetime], ...]
    return_departments: tuple[str, ...]
    reviews: tuple[tuple[str, dt.datetime, dt.datetime | None], ...]
    status: str | None
    office: str | None
    department: str | None
    holders: tuple[tuple[dt.datetime, str | None], ...]
    reopened_at: dt.datetime | None
    ext_from: int
    past_cycles: tuple[PastCycle, ...]
    correction_due: dt.date | None
    withdrawn_at: dt.datetime | None
    category: str | None = None  # a policy may set a limit per category (docs/deadlines.md)

    @classmethod
    def of(cls, s: CaseState) -> CaseKey:
        assert s.channel is not None and s.received_at is not None
        return cls(
            s.channel, s.urgency, s.time_limit_days, s.legal_time_limit_days, s.received_at, s.accepted_at,
            s.first_assigned_at, s.clock_restarted_at, s.extensions, s.extension_times, s.suspensions,
            s.suspension_kinds, s.resolved_at, s.returns, s.return_departments, s.reviews, s.status, s.office,
            s.department, s.holders, s.reopened_at, s.ext_from, s.past_cycles, s.correction_due, s.withdrawn_at,
            s.category,
        )  # fmt: skip


class Cycles(Protocol):
    """What :class:`projections.case_deadlines.CaseDeadlines` offers for an earlier cycle."""

    calendar: WorkCalendar

    def cycle_figures(
        self, s: CaseKey, start: dt.datetime | None, ext: slice, resolved: dt.datetime | None
    ) -> tuple[Deadline, float | None]: ...


def holder_at(s: CaseKey, moment: dt.datetime | None) -> str | None:
    """The department holding the case at ``moment`` (None: now); the intake office while nobody does."""
    holders = s.holders
    if not holders:
        return s.department or s.office  # a state folded before migration 0010 has no holder history
    last_at, last = holders[-1]
    if moment is None or last_at <= moment:  # the common case: nothing changed hands after the moment
        return last if last is not None else s.office
    held: str | None = None
    for t, dept in holders:
        if t > moment:
            break
        held = dept
    return held if held is not None else s.office


def cycle_extras(d: Cycles, s: CaseKey, f: CardFacts) -> CycleExtras:
    """The row's 0010 columns: responsibility, violations, the promise check and the cycles' history."""
    cards: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    if s.past_cycles or f.step_cards or f.deadline.extension_excess > 0:  # else: no card to write out
        _written_cards(d, s, f, cards, past)
    current = len(s.past_cycles) + 1
    legal = None
    if s.time_limit_days is not None:
        legal = s.legal_time_limit_days
        if legal is None:
            legal = f.rule.legal_limit if f.rule.legal_limit is not None else DEFAULT_LEGAL_LIMIT
    correction_due_at = None
    if s.status == "suspended" and s.correction_due is not None and _awaiting_correction(s):
        correction_due_at = end_of_day(s.correction_due)
    return CycleExtras(
        current, s.reopened_at, holder_at(s, f.due_at),
        holder_at(s, f.yellow_at) if f.yellow_at is not None else None,
        f.step_due_cause, s.office if f.step_due_cause is not None else None,
        f.deadline.extension_requested, f.deadline.extension_excess, legal,
        legal is not None and s.time_limit_days is not None and s.time_limit_days > legal,
        correction_due_at,
        json.dumps(cards, ensure_ascii=False, separators=(",", ":")) if cards else None,
        json.dumps(past, ensure_ascii=False, separators=(",", ":")) if past else None,
    )  # fmt: skip


def _written_cards(
    d: Cycles, s: CaseKey, f: CardFacts, cards: list[dict[str, Any]], past: list[dict[str, Any]]
) -> None:
    """The cards fixed once earned (steps done late, extension violations, earlier cycles' yellow and red)
    and the earlier cycles' figures, appended to ``cards`` and ``past``."""
    cycle_starts = [c.reopened_at for c in s.past_cycles]
    for card in f.step_cards:
        cards.append(_card_json(d, card, _cycle_of(cycle_starts, card.done or card.at)))
    for n, pc in enumerate(s.past_cycles, start=1):
        dl, worked = d.cycle_figures(s, pc.started_at, slice(pc.ext_from, pc.ext_to), pc.resolved_at)
        past.append(_past_json(n, pc, dl, worked))
        for card in _cycle_cards(s, dl, pc.resolved_at, pc.reopened_at):
            cards.append(_card_json(d, card, n, dl.calendar_gap))
        cards.extend(_card_json(d, c, n) for c in _extension_cards(s, dl, pc.ext_from, pc.ext_to))
    current = len(s.past_cycles) + 1
    cards.extend(
        _card_json(d, c, current) for c in _extension_cards(s, f.deadline, s.ext_from, len(s.extensions))
    )


def _awaiting_correction(s: CaseKey) -> bool:
    spans, kinds = s.suspensions, s.suspension_kinds
    return bool(spans) and spans[-1][1] is None and len(kinds) == len(spans) and kinds[-1] == "correction"


def _cycle_of(starts: list[dt.datetime], moment: dt.datetime) -> int:
    """The cycle a moment falls in: 1 + the reopens at or before it."""
    return 1 + sum(1 for t in starts if t <= moment)


def _cycle_cards(s: CaseKey, dl: Deadline, resolved: dt.datetime | None, ended: dt.datetime) -> list[Card]:
    """An earlier cycle's yellow or red card: red if it was resolved after its deadline, or its deadline
    passed before the reopen ended it unresolved; else yellow if it was still open on its yellow day."""
    if dl.due_at is None:
        return []
    finish = resolved if resolved is not None else ended
    if finish > dl.due_at:
        return [Card("overdue", "red", holder_at(s, dl.due_at), dl.due_at, None)]
    if dl.yellow_at is not None and dl.yellow_at <= finish:
        return [Card("yellow", "yellow", holder_at(s, dl.yellow_at), dl.yellow_at, None)]
    return []


def _extension_cards(s: CaseKey, dl: Deadline, first: int, end: int) -> list[Card]:
    """A violation for each extension of a cycle that takes it beyond the cap (the deadline's unit)."""
    if dl.extension_excess <= 0:
        return []
    cap = dl.extension_requested - dl.extension_excess
    total, out = 0, []
    for i in range(first, end):
        extra, unit = s.extensions[i]
        if unit is not None and unit != dl.unit:
            continue
        total += extra
        if total > cap:
            t = s.extension_times[i] if i < len(s.extension_times) else None
            if t is not None:
                out.append(Card("extension_over_cap", "violation", holder_at(s, t), t, None))
    return out


def _month(moment: dt.datetime, is_limit: bool) -> str:
    # A limit is 24:00 of its last day: the card belongs to the month of that day.
    local = (moment - _TICK if is_limit else moment).astimezone(SHANGHAI)
    return local.date().replace(day=1).isoformat()


def _card_json(d: Cycles, c: Card, cycle: int, estimated: bool | None = None) -> dict[str, Any]:
    # red cards are earned at a limit (24:00 of its last day); yellow and violations at a moment
    instant = c.card != "red"
    if estimated is None:
        day = local_date(c.at) if instant else local_date(c.at - _TICK)
        estimated = not d.calendar.covers(day, day)
    return {
        "cycle": cycle, "cause": c.cause, "card": c.card, "department": c.department,
        "month": _month(c.at, not instant), "at": c.at.isoformat(), "estimated": estimated,
    }  # fmt: skip


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _past_json(n: int, pc: PastCycle, dl: Deadline, worked: float | None) -> dict[str, Any]:
    on_time = None
    if pc.resolved_at is not None and dl.due_at is not None:
        on_time = pc.resolved_at <= dl.due_at
    out: dict[str, Any] = {
        "cycle": n, "started_at": _iso(pc.started_at), "ended_at": _iso(pc.reopened_at),
        "due_at": _iso(dl.due_at), "yellow_at": _iso(dl.yellow_at), "resolved_at": _iso(pc.resolved_at),
        "on_time": on_time, "department": pc.department, "working_days": worked,
        "satisfaction": pc.satisfaction, "followed_up": pc.followed_up, "calendar_gap": dl.calendar_gap,
        "time_limit": dl.limit, "time_limit_unit": dl.unit, "extension_excess": dl.extension_excess,
    }  # fmt: skip
    if pc.co_departments:  # 协办 of the cycle's resolution (migration 0014)
        out["co_departments"] = list(pc.co_departments)
    return out
