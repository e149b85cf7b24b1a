"""The event time written to the event store's COPY text (``_copy_time``) is the event's instant: for every time
the codec's RFC 3339 parser yields (any minute offset, any microsecond) and for other zones (isoformat)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, TypeAdapter

from consumers.pg_store import _copy_time

PARSE = TypeAdapter(AwareDatetime)
MOMENTS = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30))


@settings(max_examples=500, deadline=None, database=None)
@given(moment=MOMENTS, minutes=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59), z=st.booleans())
def test_a_parsed_time_is_written_as_its_instant(moment: dt.datetime, minutes: int, z: bool) -> None:
    sign, hh, mm = "-" if minutes < 0 else "+", abs(minutes) // 60, abs(minutes) % 60
    offset = "Z" if z else f"{sign}{hh:02d}:{mm:02d}"
    parsed = PARSE.validate_json(f'"{moment.isoformat()}{offset}"', strict=True)
    text = _copy_time(parsed)
    back = dt.datetime.fromisoformat(text)
    assert back == parsed and back.utcoffset() == parsed.utcoffset()
    assert back.isoformat() == parsed.isoformat()


@settings(max_examples=200, deadline=None, database=None)
@given(moment=MOMENTS, seconds=st.integers(min_value=-86399, max_value=86399))
def test_other_zones_are_written_with_isoformat(moment: dt.datetime, seconds: int) -> None:
    t = moment.replace(tzinfo=dt.timezone(dt.timedelta(seconds=seconds)))
    assert _copy_time(t) == t.isoformat()
