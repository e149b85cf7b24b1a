"""The working-day calendar on real dates: official 调休 data, operator notices and the coverage gap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from holidays import country_holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.calendar import CalendarGapError, CalendarNoticeError, WorkCalendar, builtin_official_years

D = dt.date
PACKAGED_NOTICES = Path(__file__).resolve().parents[2] / "projections" / "calendar_notices.toml"

# An illustrative 2027 notice (NOT the official one): the shape of the commented example in
# projections/calendar_notices.toml.
NOTICE_2027 = """
[years.2027]
source = "illustrative"
holidays = [
    2027-01-01, 2027-01-02, 2027-01-03,
    2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12,
    2027-04-03, 2027-04-04, 2027-04-05,
    2027-05-01, 2027-05-02, 2027-05-03, 2027-05-04, 2027-05-05,
    "2027-06-09",
    "2027-09-15",
    2027-10-01, 2027-10-02, 2027-10-03, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07,
]
workdays = [2027-02-20, 2027-04-25, 2027-05-08, 2027-09-26, 2027-10-09]
"""


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "notices.toml"
    p.write_text(text, encoding="utf-8")
    return p


# --- official data --------------------------------------------------------------------------------------


def test_builtin_official_years_are_2001_to_2026() -> None:
    years = builtin_official_years()
    assert years.start == 2001
    assert years.stop - 1 >= 2026


def test_national_day_2025(cal: WorkCalendar) -> None:
    # 10月1日至8日放假调休，共8天。9月28日（周日）、10月11日（周六）上班。
    assert cal.is_working_day(D(2025, 9, 28))  # Sunday, 调休 working day
    assert cal.is_working_day(D(2025, 9, 30))
    for day in range(1, 9):
        assert not cal.is_working_day(D(2025, 10, day)), day
    assert cal.is_working_day(D(2025, 10, 9))
    assert cal.is_working_day(D(2025, 10, 11))  # Saturday, 调休 working day
    assert not cal.is_working_day(D(2025, 10, 12))  # an ordinary Sunday

    assert cal.add_working_days(D(2025, 9, 26), 1) == D(2025, 9, 28)
    assert cal.add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert cal.add_working_days(D(2025, 9, 30), 3) == D(2025, 10, 11)
    assert cal.add_working_days(D(2025, 9, 26), 5) == D(2025, 10, 10)
    assert cal.working_days_between(D(2025, 9, 26), D(2025, 10, 12)) == 6
    assert cal.working_days_between(D(2025, 10, 12), D(2025, 9, 26)) == -6
    assert cal.next_working_day_on_or_after(D(2025, 10, 1)) == D(2025, 10, 9)
    assert cal.next_working_day_on_or_after(D(2025, 10, 9)) == D(2025, 10, 9)
    assert cal.sub_working_days(D(2025, 10, 9), 1) == D(2025, 9, 30)
    assert cal.sub_working_days(D(2025, 10, 5), 0) == D(2025, 9, 30)


def test_spring_festival_2026(cal: WorkCalendar) -> None:
    # 2月15日（腊月二十八）至23日（正月初七）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
    assert cal.is_working_day(D(2026, 2, 14))
    for day in range(15, 24):
        assert not cal.is_working_day(D(2026, 2, day)), day
    assert cal.is_working_day(D(2026, 2, 24))
    assert cal.is_working_day(D(2026, 2, 28))
    assert not cal.is_working_day(D(2026, 3, 1))
    # New Year 2026: 1月1日至3日放假，1月4日（周日）上班
    assert not cal.is_working_day(D(2026, 1, 2))
    assert cal.is_working_day(D(2026, 1, 4))

    assert cal.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert cal.add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)
    assert cal.add_working_days(D(2026, 2, 13), 6) == D(2026, 2, 28)
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 3, 1)) == 6


def test_add_zero_is_the_start_even_on_a_rest_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2025, 10, 3), 0) == D(2025, 10, 3)
    with pytest.raises(ValueError):
        cal.add_working_days(D(2025, 10, 3), -1)


def test_matches_holidays_package_on_every_official_day(cal: WorkCalendar) -> None:
    years = builtin_official_years()
    cn = country_holidays("CN", years=years)
    day, last = D(years.start, 1, 1), D(years.stop - 1, 12, 31)
    while day <= last:
        assert cal.is_working_day(day) == cn.is_working_day(day), day
        day += dt.timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(start=st.dates(D(1999, 1, 1), D(2035, 12, 31)), n=st.integers(0, 120))
def test_add_and_count_are_inverse(start: dt.date, n: int) -> None:
    cal = _shared()
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    if n:
        assert cal.is_working_day(end)
        assert cal.sub_working_days(end, n) == cal.sub_working_days(start, 0)
        assert cal.working_days_between(start, end - dt.timedelta(days=1)) == n - 1


_CAL: list[WorkCalendar] = []


def _shared() -> WorkCalendar:
    if not _CAL:
        _CAL.append(WorkCalendar.load())
    return _CAL[0]


# --- coverage and the gap -------------------------------------------------------------------------------


def test_year_without_official_data_is_not_official(cal: WorkCalendar) -> None:
    assert cal.has_official_data(2026)
    assert not cal.has_official_data(2027)
    assert not cal.has_official_data(2000)
    assert cal.covered_until == D(2026, 12, 31)
    assert cal.coverage_days_remaining(D(2026, 11, 1)) == 60
    assert cal.coverage_days_remaining(D(2027, 1, 2)) == -2
    assert cal.covers(D(2026, 1, 1), D(2026, 12, 31))
    assert not cal.covers(D(2026, 12, 31), D(2027, 1, 1))
    assert cal.covers(D(2027, 1, 2), D(2027, 1, 1))  # empty span


def test_fallback_statutory_holidays_without_guessing_tiaoxiu(cal: WorkCalendar) -> None:
    # 2027: statutory days (元旦 Fri 1 Jan; 除夕 Fri 5 Feb, 春节 Mon 8 Feb) are off; no bridge days, no 调休.
    assert not cal.is_working_day(D(2027, 1, 1))
    assert not cal.is_working_day(D(2027, 2, 5))
    assert not cal.is_working_day(D(2027, 2, 8))
    assert cal.is_working_day(D(2027, 2, 9))
    assert not cal.is_working_day(D(2027, 2, 20))  # a plain Saturday
    weekdays = WorkCalendar.load(fallback="weekdays")
    assert weekdays.is_working_day(D(2027, 1, 1))
    assert weekdays.add_working_days(D(2027, 2, 3), 5) == D(2027, 2, 10)
    assert cal.add_working_days(D(2027, 2, 3), 5) == D(2027, 2, 12)


def test_strict_calendar_refuses_to_guess() -> None:
    strict = WorkCalendar.load(strict=True)
    assert strict.is_working_day(D(2026, 12, 31))
    assert strict.add_working_days(D(2026, 12, 1), 5) == D(2026, 12, 8)
    with pytest.raises(CalendarGapError, match="2027") as err:
        strict.add_working_days(D(2026, 12, 28), 5)
    assert err.value.day == D(2027, 1, 1)
    with pytest.raises(CalendarGapError):
        strict.is_working_day(D(2027, 3, 1))
    with pytest.raises(CalendarGapError):
        strict.working_days_between(D(2026, 12, 30), D(2027, 1, 5))
    with pytest.raises(CalendarGapError):
        strict.next_working_day_on_or_after(D(2026, 12, 31) + dt.timedelta(days=2))


def test_far_dates_extend_the_window_and_out_of_range_raises(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(1960, 1, 4), 3) == D(1960, 1, 7)
    assert cal.add_working_days(D(2150, 6, 1), 1) == D(2150, 6, 2)
    with pytest.raises(ValueError, match="supported calendar range"):
        cal.is_working_day(D(1900, 1, 1))


# --- operator notices -----------------------------------------------------------------------------------


def test_notice_file_adds_an_official_year(tmp_path: Path) -> None:
    cal = WorkCalendar.load(write(tmp_path, NOTICE_2027))
    assert cal.has_official_data(2027)
    assert cal.covered_until == D(2027, 12, 31)
    assert cal.covers(D(2026, 12, 1), D(2027, 12, 31))
    assert not cal.is_working_day(D(2027, 2, 12))  # a bridge day only the notice knows
    assert cal.is_working_day(D(2027, 2, 20))  # a 调休 Saturday
    assert cal.add_working_days(D(2027, 2, 3), 5) == D(2027, 2, 18)
    strict = WorkCalendar.load(write(tmp_path, NOTICE_2027), strict=True)
    assert strict.add_working_days(D(2026, 12, 28), 5) == D(2027, 1, 5)


def test_notice_section_replaces_a_builtin_year_and_bridges_new_year(tmp_path: Path) -> None:
    # A (fictitious) corrected 2026: an extra day off on Fri 9 Oct, and the 2027 notice declaring
    # Thu 31 Dec 2026 a day off and Sat 26 Dec 2026 a working day.
    official_2026 = sorted(d for d in country_holidays("CN", years=2026) if d.year == 2026)
    workdays_2026 = sorted(d for d in country_holidays("CN", years=2026).weekend_workdays if d.year == 2026)
    text = (
        "[years.2026]\n"
        f"holidays = [{', '.join(d.isoformat() for d in [*official_2026, D(2026, 10, 9)])}]\n"
        f"workdays = [{', '.join(d.isoformat() for d in workdays_2026)}]\n"
        + NOTICE_2027.replace("workdays = [", "workdays = [2026-12-26, ").replace(
            "holidays = [", "holidays = [2026-12-31, "
        )
    )
    cal = WorkCalendar.load(write(tmp_path, text))
    assert not cal.is_working_day(D(2026, 10, 9))
    assert cal.is_working_day(D(2026, 10, 10))  # still the official 调休 Saturday
    assert not cal.is_working_day(D(2026, 12, 31))
    assert cal.is_working_day(D(2026, 12, 26))


def test_the_packaged_sample_notice_file_loads_and_adds_nothing() -> None:
    cal = WorkCalendar.load(PACKAGED_NOTICES)
    assert cal.official_years == frozenset(builtin_official_years())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[years.2027]\nholidays = [2027-01-01", "not valid TOML"),
        ("[years.2027]\nholiday = [2027-01-01]\n", r"years\.2027\.holiday: Extra inputs"),
        ("[years.2027]\nholidays = []\n", r"years\.2027\.holidays"),
        (
            NOTICE_2027.replace("2027-02-20,", "2027-02-22,"),
            r"years\.2027\.workdays: 2027-02-22 is a Monday",
        ),
        (
            NOTICE_2027.replace('"2027-06-09",', ""),
            r"years\.2027\.holidays: the statutory holidays 2027-06-09 are missing",
        ),
        (
            NOTICE_2027.replace("2027-01-01,", '2027-01-01, "2027-03-40",'),
            r"years\.2027\.holidays\.1: Input should be a valid date",
        ),
        (NOTICE_2027.replace("2027-01-01,", "2027-01-01, 2028-02-01,"), "2028-02-01 is outside 2027"),
        (NOTICE_2027.replace("workdays = [", "workdays = [2027-05-01, "), "both as holidays and as workdays"),
        ("[years.1800]\nholidays = [1800-01-01]\n", "outside 1950"),
        ("[years.nope]\nholidays = [2027-01-01]\n", r"years\.nope\.\[key\]"),
        ("[year.2027]\nholidays = [2027-01-01]\n", "year: Extra inputs"),
    ],
)
def test_bad_notice_file_gives_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CalendarNoticeError, match=expected) as err:
        WorkCalendar.load(path)
    assert str(path) in str(err.value)


def test_missing_notice_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarNoticeError, match="cannot read"):
        WorkCalendar.load(tmp_path / "absent.toml")
