"""The hot path's shortcuts give what the plain fold and the plain deadline arithmetic give (issue 20).

``fold_new`` folds a new aggregate from its projection's default fields; ``_day_period`` is memoised on the days a
day-period deadline depends on. Neither may change a result, nor hide a strict calendar's refusal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from functools import reduce

import pytest

from app.bootstrap import build_projections
from app.settings import Settings
from events.catalog import Event
from events.codec import Codec, Record
from producers.generator import GeneratorConfig, generate
from projections import deadlines
from projections.base import fold_new
from projections.calendar import CalendarGapError, WorkCalendar
from projections.deadlines import SHANGHAI, ClockFacts, compute_deadline
from projections.policy import load_policy
from tests.factories import case_stream

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _by_aggregate(events: list[Event]) -> dict[tuple[str, str], list[Event]]:
    out: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.sort_key):
        out[(e.aggregate, e.subject)].append(e)
    return out


def _generated(n: int) -> list[Event]:
    codec = Codec()
    return [
        codec.decode(Record("t", 0, i, m.key, m.value, m.headers, None))
        for i, m in enumerate(generate(GeneratorConfig.for_event_count(n, seed=11)))
        if m.kind == "valid"
    ]


@pytest.mark.parametrize("source", ["factories", "generator"])
def test_fold_new_is_the_plain_fold_from_the_initial_state(source: str) -> None:
    events = case_stream(300) if source == "factories" else _generated(3000)
    projections = build_projections(Settings())
    for (family, subject), items in _by_aggregate(events).items():
        proj = projections[family]
        plain = reduce(proj.apply, items, proj.initial(subject))
        fast = fold_new(proj, subject, items)
        assert fast == plain
        assert proj.dump(fast) == proj.dump(plain)
        assert proj.row(fast, NOW) == proj.row(plain, NOW)


def test_fold_new_leaves_the_shared_defaults_alone() -> None:
    proj = build_projections(Settings())["case"]
    events = _by_aggregate(case_stream(20))
    for (_, subject), items in events.items():
        fold_new(proj, subject, items)
    assert fold_new(proj, "C-empty", []) == proj.initial("C-empty")


def _facts(received: dt.datetime, **kw: object) -> ClockFacts:
    base: dict[str, object] = {
        "channel": "hotline", "urgency": "normal", "time_limit_days": None, "received_at": received,
        "accepted_at": None, "assigned_at": None, "clock_restarted_at": None, "extensions": (),
        "suspensions": (), "resolved_at": None,
    }  # fmt: skip
    base.update(kw)
    return ClockFacts(**base)  # type: ignore[arg-type]


def test_memoised_day_periods_match_a_cold_computation() -> None:
    policy, cal = load_policy(), WorkCalendar.load()
    day = dt.datetime(2025, 9, 26, 10, tzinfo=SHANGHAI)
    cases = [
        _facts(day + dt.timedelta(hours=h), channel=ch, suspensions=sus, extensions=ext)
        for h in (0, 5, 30, 200)
        for ch in ("hotline", "letter", "npc_suggestion", "service_centre")
        for sus in ((), ((day + dt.timedelta(days=2), day + dt.timedelta(days=9)),))
        for ext in ((), ((5, None),), ((2, "calendar_days"),))
    ]
    deadlines._day_period.cache_clear()
    cold = [compute_deadline(f, policy, cal) for f in cases]
    after_cold = deadlines._day_period.cache_info()
    warm = [compute_deadline(f, policy, cal) for f in cases]
    after_warm = deadlines._day_period.cache_info()
    assert after_warm.misses == after_cold.misses  # every day period now comes from the memo
    assert after_warm.hits > after_cold.hits
    assert warm == cold
    # A trigger later on the same day shares the memoised period; only the yellow clamp may differ.
    early, late = (compute_deadline(_facts(day.replace(hour=h)), policy, cal) for h in (0, 23))
    assert late.due_at == early.due_at
    assert dataclasses.replace(late, yellow_at=early.yellow_at) == early


def test_a_strict_calendar_refuses_every_time_not_only_the_first() -> None:
    policy, strict = load_policy(), WorkCalendar.load(strict=True)
    far = _facts(dt.datetime(2031, 3, 2, 10, tzinfo=SHANGHAI))
    for _ in range(3):
        with pytest.raises(CalendarGapError):
            compute_deadline(far, policy, strict)
