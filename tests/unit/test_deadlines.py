"""Deadlines, yellow warnings and the policy file, on real dates of the 2025/2026 official calendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pytest

from events.data import CHANNELS
from projections.calendar import CalendarGapError, WorkCalendar
from projections.deadlines import (
    SHANGHAI,
    ClockFacts,
    Deadline,
    add_months,
    compute_deadline,
    step_deadline,
    working_days_elapsed,
)
from projections.policy import DeadlinePolicy, PolicyError, load_policy, parse_policy

UTC = dt.UTC
# An illustrative 2027 notice (NOT the official one), as in tests/unit/test_calendar.py.
NOTICE_2027 = """
[years.2027]
holidays = [
    2027-01-01, 2027-01-02, 2027-01-03,
    2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12,
    2027-04-03, 2027-04-04, 2027-04-05,
    2027-05-01, 2027-05-02, 2027-05-03, 2027-05-04, 2027-05-05,
    2027-06-09,
    2027-09-15,
    2027-10-01, 2027-10-02, 2027-10-03, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07,
]
workdays = [2027-02-20, 2027-04-25, 2027-05-08, 2027-09-26, 2027-10-09]
"""


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    """A moment in Asia/Shanghai."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def midnight(y: int, m: int, d: int) -> dt.datetime:
    return at(y, m, d)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return load_policy()


def facts(channel: str, received_at: dt.datetime, **kw: object) -> ClockFacts:
    base: dict[str, object] = {
        "channel": channel,
        "urgency": "normal",
        "time_limit_days": None,
        "received_at": received_at,
        "accepted_at": None,
        "assigned_at": None,
        "clock_restarted_at": None,
        "extensions": (),
        "suspensions": (),
        "resolved_at": None,
    }
    base.update(kw)
    return ClockFacts(**base)  # type: ignore[arg-type]


# --- hotline --------------------------------------------------------------------------------------------


def test_hotline_over_national_day_2025(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    # Received Fri 26 Sep 10:00: day 1 is Sun 28 Sep (调休 working day), then 29, 30 Sep, 9, 10 Oct.
    dl = compute_deadline(facts("hotline_12345", at(2025, 9, 26, 10)), policy, cal)
    assert dl.due_at == midnight(2025, 10, 11)
    assert (dl.limit, dl.unit, dl.calendar_gap, dl.suspended_days) == (5, "working_days", False, 0)
    # Yellow: remaining <= 5/3 working days happens on Thu 9 Oct -> from the start of that day.
    assert dl.yellow_at == midnight(2025, 10, 9)


def test_hotline_received_in_utc_counts_shanghai_days(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    # 2025-09-25 20:00 UTC is already Friday 26 Sep 04:00 in Shanghai.
    dl = compute_deadline(facts("hotline_12345", dt.datetime(2025, 9, 25, 20, tzinfo=UTC)), policy, cal)
    assert dl.due_at == midnight(2025, 10, 11)
    assert dl.due_at is not None and dl.due_at.utcoffset() == dt.timedelta(hours=8)


def test_urgent_hotline(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    dl = compute_deadline(facts("hotline_12345", at(2025, 9, 30, 15), urgency="urgent"), policy, cal)
    assert (dl.limit, dl.due_at) == (1, midnight(2025, 10, 10))  # the end of Thu 9 Oct
    assert dl.yellow_at == midnight(2025, 10, 9)  # yellow on the due day, not from birth
    # Received on a Sunday: due at the end of Monday, yellow from Monday 00:00.
    dl = compute_deadline(facts("hotline_12319", at(2025, 10, 12, 10), urgency="urgent"), policy, cal)
    assert (dl.due_at, dl.yellow_at) == (midnight(2025, 10, 14), midnight(2025, 10, 13))


def test_hotline_suspended_then_resumed(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    received = at(2025, 9, 26, 10)
    suspended, resumed = at(2025, 9, 29, 11), at(2025, 10, 10, 9)
    # While suspended the clock is stopped.
    open_ = compute_deadline(facts("hotline_12345", received, suspensions=((suspended, None),)), policy, cal)
    assert (open_.due_at, open_.yellow_at) == (None, None)
    # Resumed: the working days in (29 Sep, 10 Oct] = 30 Sep, 9 Oct, 10 Oct do not count.
    # Count: 28 Sep (1), 29 Sep (2, suspended that day), 11 Oct Sat (3), 13 Oct (4), 14 Oct (5).
    dl = compute_deadline(facts("hotline_12345", received, suspensions=((suspended, resumed),)), policy, cal)
    assert dl.suspended_days == 3
    assert dl.due_at == midnight(2025, 10, 15)
    assert dl.yellow_at == midnight(2025, 10, 13)
    # Resolved during an open suspension: the suspension ends at resolution.
    res = compute_deadline(
        facts("hotline_12345", received, suspensions=((suspended, None),), resolved_at=resumed), policy, cal
    )
    assert res.due_at == dl.due_at


def test_suspension_after_the_deadline_does_not_revive_it(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    received = at(2025, 9, 26, 10)  # due at the end of 10 Oct
    late = ((at(2025, 10, 13, 9), at(2025, 10, 20, 9)),)
    dl = compute_deadline(facts("hotline_12345", received, suspensions=late), policy, cal)
    assert (dl.due_at, dl.suspended_days) == (midnight(2025, 10, 11), 0)


def test_hotline_extension(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    dl = compute_deadline(facts("hotline_12345", at(2025, 9, 26, 10), extensions=((5, None),)), policy, cal)
    assert dl.limit == 10
    assert dl.due_at == midnight(2025, 10, 17)  # Sat 11 (调休), 13, 14, 15, 16 Oct
    # An extension in calendar days is appended after the working-day period.
    dl = compute_deadline(
        facts("hotline_12345", at(2025, 9, 26, 10), extensions=((7, "calendar_days"),)), policy, cal
    )
    assert (dl.limit, dl.due_at) == (5, midnight(2025, 10, 18))  # 10 Oct + 7 = Fri 17 Oct


# --- disclosure (补正) -------------------------------------------------------------------------------------


def test_disclosure_request_with_correction_restart(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    received, accepted = at(2026, 1, 5, 9), at(2026, 1, 6, 10)
    waiting = ((at(2026, 1, 7, 9), at(2026, 1, 20, 14)),)
    # The clock counts from receipt (Art. 33), accepted or not: day 1 is Tue 6 Jan; 6-9 Jan (4), 12-16 (9),
    # 19-23 (14), 26-30 (19), Mon 2 Feb (20).
    assert compute_deadline(facts("disclosure_request", received), policy, cal).due_at == midnight(2026, 2, 3)
    # Plain resume: 2 Feb shifted by the 9 working days in (7 Jan, 20 Jan]: 3-6 Feb (4), 9-13 Feb (9).
    plain = compute_deadline(
        facts("disclosure_request", received, accepted_at=accepted, suspensions=waiting), policy, cal
    )
    assert (plain.suspended_days, plain.due_at) == (9, midnight(2026, 2, 14))
    # 补正: the corrected request arrived on 20 Jan, so 20 working days count again from 21 Jan:
    # ... 13 Feb (18), Sat 14 Feb (19, 调休), Spring Festival 15-23 Feb, Tue 24 Feb (20).
    dl = compute_deadline(
        facts(
            "disclosure_request",
            received,
            accepted_at=accepted,
            suspensions=waiting,
            clock_restarted_at=at(2026, 1, 20, 14),
        ),
        policy,
        cal,
    )
    assert (dl.limit, dl.unit, dl.suspended_days) == (20, "working_days", 0)
    assert dl.due_at == midnight(2026, 2, 25)
    # 20/3 = 6.67 working days left (10-14 Feb and 24 Feb are 6) is reached on Mon 9 Feb -> from 00:00.
    assert dl.yellow_at == midnight(2026, 2, 9)
    # A restart on the day of receipt does not move the clock.
    early = dataclasses.replace(
        facts("disclosure_request", received, accepted_at=accepted), clock_restarted_at=at(2026, 1, 5, 12)
    )
    assert (
        compute_deadline(early, policy, cal).due_at
        == compute_deadline(facts("disclosure_request", received, accepted_at=accepted), policy, cal).due_at
    )


# --- petitions (calendar days) --------------------------------------------------------------------------


def test_petition_last_day_in_a_holiday_rolls_to_the_next_working_day(
    cal: WorkCalendar, policy: DeadlinePolicy
) -> None:
    # Accepted Sun 3 Aug 2025: 60 days -> Thu 2 Oct (National Day) -> Thu 9 Oct.
    dl = compute_deadline(facts("letter", at(2025, 8, 1, 9), accepted_at=at(2025, 8, 3, 16)), policy, cal)
    assert (dl.limit, dl.unit) == (60, "calendar_days")
    assert dl.due_at == midnight(2025, 10, 10)
    assert dl.yellow_at == midnight(2025, 9, 20)  # 20 calendar days (1/3 of 60) before the deadline
    # Not accepted: no deadline yet.
    assert compute_deadline(facts("visit", at(2025, 8, 1, 9)), policy, cal).due_at is None


def test_petition_with_30_day_extension(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    # 90 days from 3 Aug = Sat 1 Nov -> Mon 3 Nov.
    dl = compute_deadline(
        facts("online_petition", at(2025, 8, 1, 9), accepted_at=at(2025, 8, 3, 16), extensions=((30, None),)),
        policy,
        cal,
    )
    assert (dl.limit, dl.due_at) == (90, midnight(2025, 11, 4))
    assert dl.yellow_at == midnight(2025, 10, 5)  # 30 days before


def test_petition_hearing_time_is_not_counted(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    # Accepted 1 Sep 2025: 60 days -> Fri 31 Oct. A hearing suspends 10 Sep .. 20 Sep: 10 days shift -> Mon 10 Nov.
    hearing = ((at(2025, 9, 10, 9), at(2025, 9, 20, 9)),)
    dl = compute_deadline(
        facts("letter", at(2025, 9, 1, 8), accepted_at=at(2025, 9, 1, 9), suspensions=hearing), policy, cal
    )
    assert (dl.suspended_days, dl.due_at) == (10, midnight(2025, 11, 11))


# --- months ---------------------------------------------------------------------------------------------


def test_npc_suggestion_three_months_from_assignment(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    # Assigned 30 Nov 2025: 3 months -> 28 Feb 2026 (no 30 Feb; a Saturday, but a 调休 working day).
    f = facts("npc_suggestion", at(2025, 11, 20, 9), assigned_at=at(2025, 11, 30, 10))
    dl = compute_deadline(f, policy, cal)
    assert (dl.limit, dl.unit, dl.due_at) == (3, "months", midnight(2026, 3, 1))
    # Assigned 1 Jul 2025: 1 Oct is National Day -> 9 Oct. Not assigned yet: no deadline.
    f = facts("cppcc_proposal", at(2025, 6, 20, 9), assigned_at=at(2025, 7, 1, 10))
    assert compute_deadline(f, policy, cal).due_at == midnight(2025, 10, 10)
    assert compute_deadline(facts("cppcc_proposal", at(2025, 6, 20, 9)), policy, cal).due_at is None
    # Hard case: +3 months = 6 months.
    f = facts("npc_suggestion", at(2025, 6, 20, 9), assigned_at=at(2025, 7, 1, 10), extensions=((3, None),))
    assert compute_deadline(f, policy, cal).due_at == midnight(
        2026, 1, 5
    )  # 1 Jan 2026 holiday, Jan 4 Sun 调休


def test_add_months_uses_the_month_end_when_there_is_no_corresponding_day() -> None:
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 11, 15), 3) == dt.date(2026, 2, 15)


# --- service centre -------------------------------------------------------------------------------------


def test_service_centre_on_the_spot_item_is_due_the_same_day(
    cal: WorkCalendar, policy: DeadlinePolicy
) -> None:
    dl = compute_deadline(facts("service_center", at(2025, 10, 11, 10), time_limit_days=0), policy, cal)
    assert (dl.limit, dl.unit) == (0, "working_days")
    assert dl.due_at == midnight(2025, 10, 12)
    assert dl.yellow_at == dl.due_at  # no yellow phase
    # Even on a rest day (a weekend counter): the end of that same day.
    dl = compute_deadline(facts("service_center", at(2025, 10, 12, 10), time_limit_days=0), policy, cal)
    assert dl.due_at == midnight(2025, 10, 13)


def test_service_centre_promise_overrides_the_policy_limit(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    dl = compute_deadline(facts("service_center", at(2025, 9, 30, 10), time_limit_days=3), policy, cal)
    assert (dl.limit, dl.due_at) == (3, midnight(2025, 10, 12))  # 9, 10, Sat 11 Oct
    dl = compute_deadline(facts("service_center", at(2025, 9, 30, 10)), policy, cal)
    assert dl.limit == 20


# --- the calendar gap -----------------------------------------------------------------------------------


def test_year_without_official_data_is_flagged_and_a_notice_removes_the_flag(
    tmp_path: Path, cal: WorkCalendar, policy: DeadlinePolicy
) -> None:
    f = facts("hotline_12345", at(2027, 2, 3, 10))
    guessed = compute_deadline(f, policy, cal)
    assert guessed.calendar_gap
    assert guessed.due_at == midnight(2027, 2, 13)  # estimate: statutory days 5 and 8 Feb off
    # Reaching into 2027 from late 2026 is flagged too; staying inside 2026 is not.
    assert compute_deadline(facts("hotline_12345", at(2026, 12, 28, 10)), policy, cal).calendar_gap
    assert not compute_deadline(facts("hotline_12345", at(2026, 12, 21, 10)), policy, cal).calendar_gap

    notice = tmp_path / "notices.toml"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    official = compute_deadline(f, policy, WorkCalendar.load(notice))
    assert not official.calendar_gap
    assert official.due_at == midnight(2027, 2, 19)  # 4 Feb, then 15-18 Feb after the notice's 5-12 Feb

    with pytest.raises(CalendarGapError):
        compute_deadline(f, policy, WorkCalendar.load(strict=True))


# --- step limits and elapsed working days ---------------------------------------------------------------


def test_step_deadline_for_a_hotline_return(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    step = policy.rule("hotline_12345", "normal").steps["return"]
    assert (step.limit, step.unit, step.starts_at) == (2, "working_days", "assigned")
    assert step_deadline(at(2025, 9, 30, 15), step.limit, step.unit, cal) == midnight(2025, 10, 11)
    route = policy.rule("letter", "normal").steps["route"]
    # 15 days from 17 Sep = 2 Oct (holiday) -> 9 Oct.
    assert step_deadline(at(2025, 9, 17, 9), route.limit, route.unit, cal) == midnight(2025, 10, 10)
    assert step_deadline(at(2025, 9, 17, 9), 0, "calendar_days", cal) == midnight(2025, 9, 18)
    with pytest.raises(ValueError, match="unknown unit"):
        step_deadline(at(2025, 9, 17, 9), 1, "weeks", cal)


def test_working_days_elapsed(cal: WorkCalendar) -> None:
    assert working_days_elapsed(at(2025, 9, 30, 10), at(2025, 9, 30, 18), cal) == 0.0
    assert working_days_elapsed(at(2025, 9, 30, 10), at(2025, 10, 9, 9), cal) == 1.0
    assert working_days_elapsed(at(2025, 9, 26, 10), at(2025, 10, 12, 9), cal) == 6.0
    assert working_days_elapsed(at(2025, 10, 9, 10), at(2025, 9, 30, 9), cal) == 0.0


def test_naive_datetimes_are_refused(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    with pytest.raises(ValueError, match="naive"):
        compute_deadline(facts("hotline_12345", dt.datetime(2025, 9, 26, 10)), policy, cal)


def test_deadline_is_a_frozen_value() -> None:
    dl = Deadline(None, None, 5, "working_days", False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dl.limit = 6  # type: ignore[misc]


# --- the policy file ------------------------------------------------------------------------------------


def test_default_policy_is_packaged_and_complete(policy: DeadlinePolicy) -> None:
    assert resources.files("projections").joinpath("default_policy.toml").is_file()
    # the contract's channels, `other` and the seeds' extras (issue 19, point 5)
    extras = {"other", "hotline_12315", "bureau_hotline", "efficiency_complaint"}
    assert {c for c, _ in policy.rules()} == set(CHANNELS) | extras
    petition = policy.rule("letter", "normal")
    assert (petition.limit, petition.unit, petition.clock_start, petition.max_extension) == (
        60,
        "calendar_days",
        "accepted",
        30,
    )
    disclosure = policy.rule("disclosure_request", "urgent")
    assert (disclosure.limit, disclosure.unit, disclosure.clock_start) == (
        20,
        "working_days",
        "received",
    )  # Art. 33
    assert policy.rule("hotline_12345", "urgent").limit == 1
    assert policy.rule("hotline_12345", "urgent").steps["return"].limit == 2
    assert policy.rule("npc_suggestion", "normal").unit == "months"
    assert policy.rule("npc_suggestion", "normal").clock_start == "assigned"
    assert policy.warning.fraction == pytest.approx(1 / 3)
    assert policy.warning.working_days == 1
    assert policy.kpi.basically_satisfied_counts_as_satisfied
    # a channel the policy does not name gets the `other` rules (docs/deadlines.md, "Channels")
    assert policy.rule("fax", "normal") == policy.rule("other", "normal")
    with pytest.raises(KeyError, match="fax"):
        policy.rule("fax", "someday")


def _default_text(fraction: str | None = None, working_days: str | None = None) -> str:
    """The packaged policy text, optionally with other global [warning] values."""
    text = resources.files("projections").joinpath("default_policy.toml").read_text(encoding="utf-8")
    if fraction is not None:
        text = re.sub(r"^fraction = .*$", f"fraction = {fraction}", text, count=1, flags=re.M)
    if working_days is not None:
        text = re.sub(r"^working_days = .*$", f"working_days = {working_days}", text, count=1, flags=re.M)
    return text


def test_policy_overrides_inherit_from_general_to_specific() -> None:
    text = _default_text(fraction='"20%"') + (
        '\n[channels.visit.urgent]\nlimit = 30\nwarning = { working_days = 3 }\nsteps.route = { limit = 5, unit = "calendar_days", starts_at = "received" }\n'
    )
    p = parse_policy(text)
    assert p.rule("hotline_12345", "normal").warning.fraction == pytest.approx(0.2)
    urgent = p.rule("visit", "urgent")
    assert (urgent.limit, urgent.unit, urgent.clock_start) == (30, "calendar_days", "accepted")
    assert urgent.warning.fraction == pytest.approx(0.2)
    assert urgent.warning.working_days == 3
    assert urgent.steps["route"].limit == 5
    assert urgent.steps["review"].limit == 30  # inherited by name
    assert p.rule("visit", "normal").steps["route"].limit == 15


def test_policy_thresholds_change_the_yellow_moment(cal: WorkCalendar) -> None:
    p = parse_policy(_default_text(fraction="0", working_days="2"))
    dl = compute_deadline(facts("hotline_12345", at(2025, 9, 26, 10)), p, cal)
    assert dl.yellow_at == midnight(2025, 10, 1)  # only 9 and 10 Oct are left from the end of 30 Sep
    p = parse_policy(_default_text(fraction="0", working_days="0"))
    dl = compute_deadline(facts("hotline_12345", at(2025, 9, 26, 10)), p, cal)
    assert dl.yellow_at == dl.due_at  # no warning at all


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda t: t + '\n[channels."Fax Line"]\nlimit = 1\n',
            r"channels\.Fax Line\.\[key\]: String should match pattern",
        ),
        (lambda t: t.split("[channels.other]")[0], "no section for other"),
        (lambda t: t.replace("[channels.service_center]", "[channels.service_centre]"), "channels"),
        (
            lambda t: t.split("[channels.service_center]")[0],
            "no section for service_center",
        ),
        (lambda t: t.replace('unit = "months"', 'unit = "weeks"', 1), r"channels\.npc_suggestion\.unit"),
        (lambda t: t.replace("limit = 60", "limit = -1", 1), r"channels\.letter\.limit"),
        (lambda t: t.replace("limit = 60", 'limit = "60"', 1), r"channels\.letter\.limit"),
        (
            lambda t: re.sub("^fraction = .*$", 'fraction = "a third"', t, flags=re.M),
            r"warning\.fraction: .*not a fraction",
        ),
        (
            lambda t: re.sub("^fraction = .*$", "fraction = 1.5", t, flags=re.M),
            r"warning\.fraction: .*less than or equal",
        ),
        (
            lambda t: t.replace("max_extension = 10\n", "max_extention = 10\n", 1),
            r"max_extention: Extra inputs",
        ),
        (
            lambda t: t.replace('limit = 3\nunit = "months"', 'unit = "months"', 1),
            r"channels\.npc_suggestion\.normal: limit not set",
        ),
        (lambda t: t + "\n[kpi\n", "not valid TOML"),
    ],
)
def test_bad_policy_gives_a_clear_error(tmp_path: Path, mutate: object, expected: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(mutate(_default_text()), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(PolicyError, match=expected) as err:
        load_policy(path)
    assert str(path) in str(err.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "absent.toml")
