"""Regression tests for bugs the property tests found.

Fixed ones are plain tests. Open ones (reported to their owners) are strict xfails: when the bug is fixed the test
XPASSes and fails the suite, and whoever fixed it removes the marker.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from app.bootstrap import build_projections
from app.settings import Settings
from events.codec import Codec, DecodeError, Record
from tests.integration.helpers import consume, publish_raw, query
from tests.property.strategies import base_envelopes


def _decode(change: dict[str, Any], type_: str = "case.received", **data: Any) -> Any:
    env = base_envelopes()[type_]
    env = {**env, **change, "data": {**env["data"], **data}}
    family = type_.split(".")[0]
    return Codec().decode(
        Record(f"gov.{family}.events", 0, 0, env["subject"].encode(), json.dumps(env).encode())
    )


# -- fixed ------------------------------------------------------------------------------------------------
def test_a_non_decimal_digit_schemaversion_is_a_dead_letter_not_a_crash() -> None:
    """'²'.isdigit() is true but int('²') raises ValueError: it crashed the consumer on every restart."""
    with pytest.raises(DecodeError):
        _decode({"schemaversion": "²"})


@pytest.mark.parametrize(
    ("type_", "field"), [("supervision.issued", "due_date"), ("rectification.opened", "deadline")]
)
def test_a_date_at_the_end_of_the_calendar_is_rejected_or_folds(type_: str, field: str) -> None:
    """A valid 9999-12-31 deadline overflowed the supervision and rectification folds (OverflowError)."""
    try:
        event = _decode({}, type_, **{field: "9999-12-31"})
    except DecodeError:
        return
    proj = build_projections(Settings())[event.aggregate]
    proj.row(proj.apply(proj.initial(event.subject), event), dt.datetime.now(dt.UTC))


def test_an_oversized_keyless_record_is_dead_lettered(settings: Settings) -> None:
    """Forwarded without its value and without a key, kafka-python refused the dead letter (ValueError)."""
    publish_raw(settings, [(settings.topics.case, None, b"x" * 950_000, [])])
    consume(settings)
    assert query(settings.database_url or "", "SELECT reason FROM casetrack.dead_letters") == [("oversized",)]


def _reuse_an_id(settings: Settings, together: bool) -> list[tuple[str]]:
    from tests.factories import case_stream

    events = case_stream(2)
    first = events[0]
    other = next(e for e in events if e.subject != first.subject)
    records: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = [
        (settings.topics.case, e.subject.encode(), json.dumps({**e.wire(), "id": first.id}).encode(), [])
        for e in (first, other)
    ]
    if together:
        publish_raw(settings, records)
    else:
        publish_raw(settings, records[:1])
        consume(settings)
        publish_raw(settings, records[1:])
    consume(settings)
    return query(settings.database_url or "", "SELECT reason FROM casetrack.dead_letters")


def test_an_id_reused_by_another_aggregate_in_a_later_batch_is_dead_lettered(settings: Settings) -> None:
    """id_conflict letters had neither key nor value: publishing them raised and the consumer crash-looped."""
    assert _reuse_an_id(settings, together=False) == [("id_conflict",)]


def test_an_id_reused_by_another_aggregate_in_the_same_batch_is_dead_lettered(settings: Settings) -> None:
    """Within one batch the reuse was counted as a duplicate and the second aggregate's event dropped."""
    assert _reuse_an_id(settings, together=True) == [("id_conflict",)]


# -- open -------------------------------------------------------------------------------------------------
def test_dead_letter_details_never_quote_the_input() -> None:
    """The codec promises details never quote the input; an unexpected key is the input (here a phone number),
    and the detail goes to casetrack.dead_letters and the DLQ header."""
    with pytest.raises(DecodeError) as err:
        _decode({}, **{"13912345678": "x"})
    assert "13912345678" not in err.value.detail


@pytest.mark.parametrize("change", [{"schemaversion": True}, {"schemaversion": 1.0}, {"time": 1760000000}])
def test_the_envelope_is_validated_strictly(change: dict[str, Any]) -> None:
    """The contract: ``schemaversion`` is an integer and ``time`` an RFC 3339 string with an offset. The slow
    path refuses ``true``; the fast path takes it (and a float, and a Unix timestamp)."""
    with pytest.raises(DecodeError):
        _decode(change)
