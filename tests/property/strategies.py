"""Hypothesis strategies for hostile Kafka records: arbitrary bytes, and valid envelopes of every event type with
hostile mutations (invalid UTF-8, NUL characters, lone surrogates, deeply nested or huge JSON, SQL-like strings,
timestamps without an offset or centuries away, keys that differ from the subject, unknown types and versions,
binary mode with hostile ``ce_*`` headers)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from events.catalog import EVENT_TYPES
from events.codec import Record
from producers.generator import GeneratorConfig, generate

SQLISH = (
    "'; DROP TABLE casetrack.event_store; --",
    "x' OR '1'='1",
    "$$; TRUNCATE casetrack.tracking; $$",
    "\\'; COPY casetrack.case_state TO PROGRAM 'id'; --",
    "%s %(x)s {0} {}",
    'E"\\\\x00"',
    "Robert'); DELETE FROM casetrack.dead_letters;--",
    "\\N",
    "\\.",
)
TIMES = (
    "2026-10-12T08:30:00",  # no offset
    "2026-10-12 08:30:00",
    "2026-10-12",
    "2426-10-12T08:30:00+08:00",  # centuries away
    "1626-10-12T08:30:00+08:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+14:00",
    "2026-02-30T08:30:00+08:00",
    "2026-12-31T23:59:60+08:00",
    "2026-10-12T08:30:00+25:00",
    "2026-10-12T08:30:00.123456789+08:00",
    "2099-12-31T23:59:59+08:00",
    "2000-01-01T00:00:00+00:00",
    "1999-12-31T23:59:59Z",
    "now",
    "",
)
DATES = (
    "9999-12-31",
    "0001-01-01",
    "2099-12-31",
    "2000-01-01",
    "2026-02-29",
    "20261012",
    "2026-10-12T00:00:00",
)
TZ8 = dt.timezone(dt.timedelta(hours=8))
WEIRD = ("\x00", "a\x00b", "\u0000", "\ufeff", "\u202e", "\U0001f600" * 50, "𠀀" * 10, "\x7f", "\r\n", " ")


@functools.cache
def base_envelopes() -> dict[str, dict[str, Any]]:
    """One valid structured envelope of every event type the generator produces, keyed by type."""
    out: dict[str, dict[str, Any]] = {}
    config = GeneratorConfig(days=12, cases_per_day=60, supervision_per_day=4, rectification_per_day=4,
                             malformed_fraction=0.0, duplicate_fraction=0.0, binary_mode_fraction=0.0)  # fmt: skip
    for m in generate(config):
        if m.event_type and m.event_type not in out and m.value is not None:
            out[m.event_type] = json.loads(m.value)
        if len(out) == len(EVENT_TYPES):
            break
    return out


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=12),  # lone surrogates included
        st.sampled_from(SQLISH + TIMES + DATES + WEIRD),
        st.builds(lambda n, c: c * n, st.integers(1000, 300_000), st.sampled_from(["a", "附", "\\"])),
    )


def json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
    )
    return st.recursive(
        leaves,
        lambda c: st.lists(c, max_size=4) | st.dictionaries(hostile_text(), c, max_size=4),
        max_leaves=12,
    )


NEST = (
    "\u2063nest:"  # placeholder replaced by deeply nested JSON text when serialised (no deep Python objects)
)


@st.composite
def mutated_envelope(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope of a random type, then 0-3 hostile mutations."""
    bases = base_envelopes()
    env: dict[str, Any] = json.loads(json.dumps(bases[draw(st.sampled_from(sorted(bases)))]))
    for _ in range(draw(st.integers(0, 3))):
        what = draw(st.sampled_from(["attr", "data", "drop", "time", "type", "version", "nest", "date"]))
        data = env.get("data") if isinstance(env.get("data"), dict) else None
        if what == "attr":
            attr = draw(
                st.sampled_from(["id", "source", "subject", "specversion", "datacontenttype", "data", "x"])
            )
            env[attr] = draw(json_values())
        elif what == "data" and data is not None:
            keys = sorted(data) or ["extra"]
            data[draw(st.sampled_from([*keys, "extra", "petitioner"]))] = draw(json_values())
        elif what == "drop":
            target = data if data is not None and draw(st.booleans()) else env
            if target:
                target.pop(draw(st.sampled_from(sorted(target))), None)
        elif what == "time":
            env["time"] = draw(st.one_of(st.sampled_from(TIMES), json_values()))
        elif what == "type":
            env["type"] = draw(st.one_of(st.sampled_from([*EVENT_TYPES, "case.teleported", "CASE.RECEIVED"]),
                                         hostile_text()))  # fmt: skip
        elif what == "version":
            env["schemaversion"] = draw(st.one_of(st.integers(-3, 5), st.sampled_from([99, 2**64, True, 1.0, "1", "²"]),
                                                  json_values()))  # fmt: skip
        elif what == "nest":
            env["data" if draw(st.booleans()) else "x"] = f"{NEST}{draw(st.integers(50, 50_000))}"
        elif what == "date" and data is not None:
            fields = [k for k in ("due_date", "deadline", "new_deadline") if k in data]
            if fields:
                data[draw(st.sampled_from(fields))] = draw(st.sampled_from(DATES))
    return env


def _key(draw: st.DrawFn, env: dict[str, Any]) -> bytes | None:
    subject = env.get("subject")
    choice = draw(st.sampled_from(["subject", "subject", "none", "other", "bytes"]))
    if choice == "subject" and isinstance(subject, str):
        return subject.encode("utf-8", "surrogatepass")
    if choice == "other":
        return b"another-" + str(subject).encode("utf-8", "surrogatepass")
    if choice == "bytes":
        return draw(st.binary(max_size=20))
    return None


def _dumps(draw: st.DrawFn, obj: Any) -> bytes:
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    if NEST in text:
        text = re.sub(f'"{NEST}(\\d+)"', lambda m: "[" * int(m[1]) + "{}" + "]" * int(m[1]), text)
    # surrogatepass: a lone surrogate becomes bytes that are not valid UTF-8 (as a broken producer would send)
    return text.encode("utf-8", "surrogatepass")


#: Larger values never reach casetrack: Apache Kafka refuses them (``message.max.bytes``, about 1 MB by default),
#: where Tansu takes anything. Values between ``max_event_bytes`` (256 KiB) and this still test ``oversized``;
#: kept well below the broker limit, since a batch carries headers and framing besides the value.
BROKER_MAX_VALUE = 400_000


@st.composite
def hostile_records(draw: st.DrawFn, topic: str = "gov.case.events") -> Record:
    """A Kafka record a hostile or broken producer could send."""
    mode = draw(st.sampled_from(["structured", "structured", "binary", "bytes", "corrupt"]))
    if mode == "bytes":
        value = draw(st.one_of(st.none(), st.binary(max_size=400)))
        return Record(topic, 0, 0, draw(st.one_of(st.none(), st.binary(max_size=20))), value, ())
    env = draw(mutated_envelope())
    key = _key(draw, env)
    if mode == "binary" and isinstance(env.get("data"), dict | list):
        headers = [("content-type", b"application/json")]
        for k, v in env.items():
            if k == "data":
                continue
            raw = v if isinstance(v, str) else json.dumps(v)
            headers.append((f"ce_{k}", raw.encode("utf-8", "surrogatepass")))
        if draw(st.booleans()):
            headers.append((f"ce_{draw(st.sampled_from(['schemaversion', 'time', 'id', 'x']))}",
                            draw(st.binary(max_size=30))))  # fmt: skip
        data = _dumps(draw, env["data"])
        assume(len(data) <= BROKER_MAX_VALUE)
        return Record(topic, 0, 0, key, data, tuple(headers))
    value = _dumps(draw, env)
    assume(len(value) <= BROKER_MAX_VALUE)
    if mode == "corrupt" and value:
        at = draw(st.integers(0, len(value) - 1))
        value = value[:at] + draw(st.binary(min_size=1, max_size=4)) + value[at + draw(st.integers(0, 3)) :]
    headers_s = (("content-type", b"application/cloudevents+json"),)
    return Record(topic, 0, 0, key, value, headers_s)


def _benign(draw: st.DrawFn, value: Any) -> Any:
    """A value of the same JSON type that stays plausibly valid but is extreme or hostile in content."""
    if isinstance(value, bool):
        return draw(st.booleans())
    if isinstance(value, int):
        return draw(st.one_of(st.integers(0, 3650), st.sampled_from([0, 1, 100, 500, 3650])))
    if isinstance(value, str):
        if len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":  # a date
            return draw(st.one_of(st.sampled_from(DATES[:5]), st.dates().map(str)))
        return draw(
            st.one_of(st.just(value), st.sampled_from(SQLISH + WEIRD[3:]), st.text(min_size=1, max_size=30))
        )
    if isinstance(value, list):
        return [_benign(draw, v) for v in value] or value
    if isinstance(value, dict):
        return {k: _benign(draw, v) for k, v in value.items()}
    return value


@st.composite
def extreme_valid_envelopes(draw: st.DrawFn, family: str, subject: str = "X-1") -> list[dict[str, Any]]:
    """1-8 envelopes of one aggregate (any types of ``family``, any order), with extreme but mostly valid
    content: times anywhere in 2000-2099 with any offset, dates anywhere, SQL-like and unusual text."""
    bases = [b for t, b in sorted(base_envelopes().items()) if t.startswith(family + ".")]
    out = []
    for i in range(draw(st.integers(1, 8))):
        env = json.loads(json.dumps(draw(st.sampled_from(bases))))
        env["subject"], env["id"] = subject, f"{subject}-e{i}"
        when = draw(st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30),
                                 timezones=st.sampled_from([dt.UTC, TZ8, dt.timezone(dt.timedelta(hours=-12)),
                                                            dt.timezone(dt.timedelta(hours=14))])))  # fmt: skip
        env["time"] = when.isoformat()
        env["data"] = _benign(draw, env["data"])
        out.append(env)
    return out
