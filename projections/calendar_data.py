"""The working-day calendar's data: the official notices the ``holidays`` package carries, the statutory holidays
of any year, and the operator's notice file (TOML) merged over them. :mod:`projections.calendar` builds its
tables from these; docs/deadlines.md ("The working-day calendar and the notice file") explains the layers.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from holidays import country_holidays
from holidays.countries.china import ChinaStaticHolidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from projections.config_errors import validation_lines

FIRST_SUPPORTED_YEAR: Final = 1950  # holidays.China starts at the proclamation of the PRC
LAST_SUPPORTED_YEAR: Final = 2199
FIRST_OFFICIAL_YEAR: Final = 2001  # holidays.China: "only checked with the official notices from 2001"
_LAST_OFFICIAL_YEAR_FALLBACK: Final = 2026  # if the package layout ever changes: the data of holidays 0.109


class CalendarNoticeError(ValueError):
    """The operator calendar notice file cannot be read or is invalid. The message names the file and key."""


# --- built-in official data --------------------------------------------------------------------------------


def builtin_official_years() -> range:
    """Years for which the installed ``holidays`` package carries the official notices (2001–2026 in 0.109).

    Derived from the package's table of notice-based special days, so upgrading ``holidays`` extends the
    official range without a code change here.
    """
    try:
        last = max(int(y) for y in ChinaStaticHolidays.special_public_holidays)
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - defensive
        last = _LAST_OFFICIAL_YEAR_FALLBACK
    return range(FIRST_OFFICIAL_YEAR, last + 1)


@functools.cache
def builtin_official() -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(days off on weekdays-or-weekends, weekend working days) for all built-in official years.

    All years are built in one ``holidays.China`` object: a notice may declare a working Saturday in the
    previous December (e.g. 2011-12-31 from the 2012 notice), which only appears when the next year is
    populated too.
    """
    years = builtin_official_years()
    cn = country_holidays("CN", years=years)
    off = frozenset(d for d in cn if d.year in years)
    work = frozenset(d for d in cn.weekend_workdays if d.year in years)
    return off, work


@functools.cache
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """The fixed statutory holidays of a year (no 补假, no 调休): certain days off in any year."""
    if year < FIRST_SUPPORTED_YEAR:
        return frozenset()
    return frozenset(country_holidays("CN", years=year, observed=False))


# --- operator notices --------------------------------------------------------------------------------------


class YearNotice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    holidays: tuple[dt.date, ...] = Field(min_length=1)
    workdays: tuple[dt.date, ...] = ()
    source: str | None = None

    @field_validator("workdays")
    @classmethod
    def _weekend_only(cls, v: tuple[dt.date, ...]) -> tuple[dt.date, ...]:
        for d in v:
            if d.weekday() < 5:
                raise ValueError(
                    f"{d.isoformat()} is a {d.strftime('%A')}: `workdays` lists only the Saturdays and Sundays "
                    "declared working days (调休); ordinary weekdays are working days anyway"
                )
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> YearNotice:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"dates listed both as holidays and as workdays: {', '.join(map(str, both))}")
        return self


class NoticeFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    years: dict[int, YearNotice] = {}

    @model_validator(mode="after")
    def _check_years(self) -> NoticeFile:
        for year, notice in self.years.items():
            if not FIRST_SUPPORTED_YEAR <= year <= LAST_SUPPORTED_YEAR:
                raise ValueError(f"years.{year}: year outside {FIRST_SUPPORTED_YEAR}–{LAST_SUPPORTED_YEAR}")
            for key, days in (("holidays", notice.holidays), ("workdays", notice.workdays)):
                for d in days:
                    if not _belongs_to_notice(d, year):
                        raise ValueError(
                            f"years.{year}.{key}: {d.isoformat()} is outside {year} (only the December "
                            f"before and the January after are allowed, for New Year bridges)"
                        )
            missing = sorted(
                d
                for d in statutory_holidays(year)
                if d.weekday() < 5 and d not in notice.holidays and d.year == year
            )
            if missing:
                raise ValueError(
                    f"years.{year}.holidays: the statutory holidays {', '.join(map(str, missing))} are missing "
                    "(every notice gives them off; list the whole holiday spans of the notice)"
                )
        return self


def _belongs_to_notice(d: dt.date, year: int) -> bool:
    return d.year == year or (d.year == year - 1 and d.month == 12) or (d.year == year + 1 and d.month == 1)


def read_notices(path: Path) -> NoticeFile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CalendarNoticeError(f"calendar notice file {path}: cannot read: {e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CalendarNoticeError(f"calendar notice file {path}: not valid TOML: {e}") from e
    try:
        return NoticeFile.model_validate(raw)
    except ValidationError as e:
        raise CalendarNoticeError(f"calendar notice file {path} is invalid:\n{validation_lines(e)}") from e


def apply_notices(
    notices: Mapping[int, YearNotice], off: set[dt.date], work: set[dt.date], years: set[int]
) -> None:
    """Merge operator notices into the official day sets (in place). See :meth:`WorkCalendar.load`."""
    # 1. Each section replaces its own year entirely.
    for year, notice in notices.items():
        off.difference_update({d for d in off if d.year == year})
        work.difference_update({d for d in work if d.year == year})
        off.update(d for d in notice.holidays if d.year == year)
        work.update(d for d in notice.workdays if d.year == year)
        years.add(year)
    # 2. Bridge days from the adjacent December/January override single days of the neighbouring year.
    claimed: dict[dt.date, tuple[int, bool]] = {}
    for year, notice in notices.items():
        for d, is_off in [*((d, True) for d in notice.holidays), *((d, False) for d in notice.workdays)]:
            if d.year != year:
                claimed[d] = (year, is_off)
    for d, (year, is_off) in claimed.items():
        own = notices.get(d.year)
        if own is not None and ((d in own.holidays and not is_off) or (d in own.workdays and is_off)):
            raise CalendarNoticeError(
                f"calendar notice file: {d.isoformat()} is a {'holiday' if is_off else 'workday'} in "
                f"years.{year} but the opposite in years.{d.year}"
            )
        if is_off:
            off.add(d)
            work.discard(d)
        else:
            work.add(d)
            off.discard(d)
