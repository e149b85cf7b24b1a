"""The COPY text built for the event store and the state tables equals the field-by-field escaping it replaces
(the fast paths check a whole line or array once and fall back to escaping every field)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from consumers.pg_copy import copy_text_row, copy_text_value, pg_array
from consumers.pg_store import _event_line
from consumers.ports import StoredEvent
from events.catalog import Event
from events.codec import Codec, Record
from producers.generator import GeneratorConfig, generate

SPECIAL = st.text(
    alphabet=st.sampled_from(["a", '"', "\\", "\t", "\n", "\r", ",", "{", "N", "字"]), max_size=8
)


def reference_array(values: list[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def reference_row(values: list[Any]) -> str:
    return "\t".join("\\N" if v is None or v == "" else copy_text_value(str(v)) for v in values) + "\n"


@given(st.lists(SPECIAL, max_size=5))
def test_pg_array_escapes_as_element_by_element(values: list[str]) -> None:
    assert pg_array(values) == reference_array(values)


SCALARS = st.one_of(st.none(), SPECIAL, st.integers(), st.floats(allow_nan=False), st.booleans())


@given(st.lists(SCALARS, min_size=1, max_size=8))
def test_a_state_row_escapes_as_field_by_field(values: list[Any]) -> None:
    assert copy_text_row(values) == reference_row(values)


def test_a_state_row_writes_null_and_plain_values() -> None:
    assert (
        copy_text_row([1, "k", None, "", True, 1.5, '{"a":"b"}']) == '1\tk\t\\N\t\\N\tTrue\t1.5\t{"a":"b"}\n'
    )


def _an_event() -> Event:
    codec = Codec()
    for m in generate(GeneratorConfig.for_event_count(20, seed=1)):
        if m.kind == "valid":
            return codec.decode(Record("gov.case.events", 0, 0, m.key, m.value, tuple(m.headers)))
    raise AssertionError("the generator made no valid event")


EVENT = _an_event()


@given(ident=SPECIAL.filter(bool), source=SPECIAL.filter(bool))
def test_an_event_line_escapes_its_free_text_fields(ident: str, source: str) -> None:
    e = EVENT.model_copy(update={"id": ident, "source": source})
    expected = (
        f"{copy_text_value(e.id)}\t{e.aggregate}\t{copy_text_value(e.subject)}\t{e.type}\t{e.time.isoformat()}"
        f"\t{e.schemaversion}\t{copy_text_value(e.source)}"
        f"\t{e.data.model_dump_json(exclude_none=True).replace(chr(92), chr(92) * 2)}\tgov.case.events\t0\t7\n"
    )
    assert _event_line(StoredEvent(e, "gov.case.events", 0, 7)) == expected
