"""Channels and limits that fit real offices (issue 19, point 5), on the official 2026 calendar.

Calendar facts used (``holidays``, checked below): Mid-Autumn Fri 2026-09-25 off; National Day 10-01..10-07 off,
Sun 09-20 and Sat 10-10 worked; March 2026 has no holiday.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from events.codec import DecodeError, event_from_dict
from projections.calendar import WorkCalendar
from projections.deadlines import SHANGHAI, ClockFacts, compute_deadline, paused_step_deadline, step_deadline
from projections.policy import DeadlinePolicy, PolicyError, load_policy, parse_policy


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> dt.datetime:
    return at(y, m, d) + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return load_policy()


def facts(channel: str, received: dt.datetime, **kw: object) -> ClockFacts:
    base: dict[str, object] = {
        "channel": channel, "urgency": "normal", "time_limit_days": None, "received_at": received,
        "accepted_at": None, "assigned_at": None, "clock_restarted_at": None, "extensions": (),
        "suspensions": (), "resolved_at": None,
    }  # fmt: skip
    base.update(kw)
    return ClockFacts(**base)  # type: ignore[arg-type]


def test_the_calendar_facts_these_tests_rely_on(cal: WorkCalendar) -> None:
    off = [dt.date(2026, 9, 25), *(dt.date(2026, 10, d) for d in range(1, 8))]
    assert not any(cal.is_working_day(d) for d in off)
    assert cal.is_working_day(dt.date(2026, 9, 20)) and cal.is_working_day(dt.date(2026, 10, 10))


# --- limits in hours ----------------------------------------------------------------------------------------
def test_a_24_hour_limit_runs_in_calendar_time_across_a_holiday(
    policy: DeadlinePolicy, cal: WorkCalendar
) -> None:
    # 特急 12345 order received Wed 30 Sep 2026 20:00: 24 hours of calendar time = Thu 1 Oct 20:00, National
    # Day (a holiday does not stop an hour limit). Yellow when 1/3 of 24 h = 8 h is left: 1 Oct 12:00.
    dl = compute_deadline(facts("hotline_12345", at(2026, 9, 30, 20), urgency="emergency"), policy, cal)
    assert (dl.due_at, dl.yellow_at, dl.limit, dl.unit) == (
        at(2026, 10, 1, 20),
        at(2026, 10, 1, 12),
        24,
        "hours",
    )
    assert not dl.calendar_gap


def test_an_hour_limit_with_a_suspension_and_an_extension(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    # Suspended 1 Oct 08:00-10:30 (2.5 h not counted) and extended by 6 hours: 20:00 + 2.5 h + 6 h = 2 Oct 04:30.
    f = facts(
        "hotline_12345", at(2026, 9, 30, 20), urgency="emergency", extensions=((6, None),),
        suspensions=((at(2026, 10, 1, 8), at(2026, 10, 1, 10, 30)),),
    )  # fmt: skip
    dl = compute_deadline(f, policy, cal)
    assert (dl.due_at, dl.limit, dl.suspended_days) == (at(2026, 10, 2, 4, 30), 30, 3)  # 2.5 h shown as 3
    # yellow: 1/3 of 30 h = 10 h before the end: 1 Oct 18:30
    assert dl.yellow_at == at(2026, 10, 1, 18, 30)
    # an extension beyond the 24-hour cap moves the end by the cap only
    over = compute_deadline(facts("hotline_12345", at(2026, 9, 30, 20), urgency="emergency",
                                  extensions=((30, "hours"),)), policy, cal)  # fmt: skip
    assert (over.due_at, over.extension_requested, over.extension_excess) == (at(2026, 10, 2, 20), 30, 6)
    # a suspension still open stops the clock
    open_ = facts("hotline_12345", at(2026, 9, 30, 20), urgency="emergency",
                  suspensions=((at(2026, 10, 1, 8), None),))  # fmt: skip
    assert compute_deadline(open_, policy, cal).due_at is None


def test_hour_step_limits(cal: WorkCalendar) -> None:
    assert step_deadline(at(2026, 9, 30, 20), 2, "hours", cal) == at(2026, 9, 30, 22)
    paused = paused_step_deadline(
        at(2026, 9, 30, 20), 2, "hours", cal, ((at(2026, 9, 30, 21), at(2026, 9, 30, 23)),)
    )
    assert paused == at(2026, 10, 1, 0)  # 1 h worked, 2 h paused, 1 h more


def test_emergency_falls_back_to_the_urgent_rule(policy: DeadlinePolicy) -> None:
    assert policy.rule("letter", "emergency") == policy.rule("letter", "urgent")
    assert policy.rule("hotline_12345", "emergency").unit == "hours"


# --- per-category limits ------------------------------------------------------------------------------------
def test_a_consultation_has_its_own_limit(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    # Received Wed 30 Sep 2026. 咨询: 3 working days = Thu 8 Oct (1), Fri 9 (2), Sat 10 (3, 调休 worked).
    # Any other category (e.g. a complaint, 投诉): 5 = ..., Mon 12 (4), Tue 13 Oct (5).
    consult = compute_deadline(facts("hotline_12345", at(2026, 9, 30, 10), category="咨询"), policy, cal)
    complaint = compute_deadline(facts("hotline_12345", at(2026, 9, 30, 10), category="投诉"), policy, cal)
    assert (consult.due_at, consult.limit) == (end_of(2026, 10, 10), 3)
    assert (complaint.due_at, complaint.limit) == (end_of(2026, 10, 13), 5)
    # an urgent consultation follows the urgent tier (1 working day: Thu 8 Oct)
    urgent = compute_deadline(facts("hotline_12345", at(2026, 9, 30, 10), urgency="urgent", category="咨询"),
                              policy, cal)  # fmt: skip
    assert urgent.due_at == end_of(2026, 10, 8)


def test_12315_reports_and_complaints(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    # Received Mon 2 Mar 2026. 举报: 15 working days = Mar 3-6 (4), 9-13 (9), 16-20 (14), Mon 23 (15).
    # 投诉 (the channel's limit): 7 = Mar 3-6 (4), 9, 10, Wed 11 (7).
    report = compute_deadline(facts("hotline_12315", at(2026, 3, 2, 9), category="举报"), policy, cal)
    complaint = compute_deadline(facts("hotline_12315", at(2026, 3, 2, 9), category="投诉"), policy, cal)
    assert report.due_at == end_of(2026, 3, 23) and complaint.due_at == end_of(2026, 3, 11)


# --- channels -----------------------------------------------------------------------------------------------
def _policy_with(extra: str) -> DeadlinePolicy:
    text = resources.files("projections").joinpath("default_policy.toml").read_text(encoding="utf-8")
    return parse_policy(text + extra)


def test_an_operator_channel_starts_from_other(cal: WorkCalendar) -> None:
    p = _policy_with('\n[channels.hotline_96196]\ndescription = "政务服务热线"\nlimit = 2\n')
    rule = p.rule("hotline_96196")
    assert (rule.limit, rule.unit, rule.clock_start, rule.max_extension) == (
        2,
        "working_days",
        "received",
        10,
    )
    assert p.rule("hotline_96196", "urgent").limit == 2  # its own key wins over other's urgent tier
    # Received Mon 2 Mar 2026: 2 working days = Tue 3 (1), Wed 4 (2)
    assert compute_deadline(facts("hotline_96196", at(2026, 3, 2, 9)), p, cal).due_at == end_of(2026, 3, 4)


def test_an_unknown_channel_gets_the_other_rules(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    # `other`: 5 working days; received Mon 2 Mar 2026 -> Tue 3 .. Mon 9 Mar (5)
    dl = compute_deadline(facts("fax_line", at(2026, 3, 2, 9)), policy, cal)
    assert (dl.due_at, dl.limit) == (end_of(2026, 3, 9), 5)
    assert policy.rule("fax_line", "urgent") == policy.rule("other", "urgent")


def test_the_seeds_extras_ship_in_the_default_policy(policy: DeadlinePolicy) -> None:
    assert {"other", "hotline_12315", "bureau_hotline", "efficiency_complaint"} <= set(policy.channel_names())
    assert policy.rule("efficiency_complaint").limit == 15
    assert policy.rule("bureau_hotline").limit == 5


def test_bad_channel_sections_are_refused_with_the_key() -> None:
    with pytest.raises(PolicyError, match=r"channels\.bureau line\.\[key\]: String should match pattern"):
        _policy_with('\n[channels."bureau line"]\nlimit = 1\n')
    with pytest.raises(PolicyError, match=r"channels\.hotline_12345\.categories\.投诉\.unit"):
        _policy_with('\n[channels.hotline_12345.categories."投诉"]\nunit = "weeks"\n')


def event(channel: str, **extra: object) -> dict[str, object]:
    return {
        "specversion": "1.0", "id": "e1", "source": "hotline/96196", "type": "case.received", "subject": "C1",
        "time": "2026-03-02T09:00:00+08:00",
        "data": {"channel": channel, "category": "咨询", "summary": "问询", **extra},
    }  # fmt: skip


def test_events_carry_operator_channels_and_the_emergency_tier() -> None:
    e = event_from_dict(event("hotline_96196", urgency="emergency"))
    assert (e.data.channel, e.data.urgency) == ("hotline_96196", "emergency")  # type: ignore[attr-defined]
    with pytest.raises(DecodeError):
        event_from_dict(event("传真"))  # not a wire value: lower-case letters, digits and _
