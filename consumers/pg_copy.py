"""COPY for the PostgreSQL store adapter: values in COPY's text format, and the per-table staging plan
(a session staging table, then one upsert). Statements are built only from identifiers that come from code.
See docs/architecture.md ("How a batch is processed").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2.extensions
from psycopg2 import sql


def pg_array(values: Sequence[str]) -> str:
    """Array literal for COPY: every element double-quoted, with backslash and quote escaped. Elements rarely
    hold either, so one join and one check decide for the whole array."""
    body = '","'.join(values)
    if "\\" in body or body.count('"') != 2 * (len(values) - 1):
        return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
    return '{"' + body + '"}' if values else "{}"


def copy_text_value(value: str) -> str:
    """A value for COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def copy_text_row(values: list[Any]) -> str:
    """One row for COPY's text format: None as ``\\N``, and so is an empty string (these rows read it as NULL
    when they went as CSV with FORCE_NULL; no column holds one); anything else as ``str()``. Fields are escaped
    only when the line holds a backslash besides the NULL markers', a newline or a tab inside a field: one
    check per line, not a call per field. Several times cheaper than the csv module's per-character work."""
    line = "\t".join(["\\N" if v is None or v == "" else v if type(v) is str else str(v) for v in values])
    nulls = values.count(None) + values.count("")
    if line.count("\\") != nulls or "\n" in line or "\r" in line or line.count("\t") != len(values) - 1:
        line = "\t".join(
            [
                "\\N" if v is None or v == "" else copy_text_value(v if type(v) is str else str(v))
                for v in values
            ]
        )
    return line + "\n"


def copy_json_value(value: str) -> str:
    # Compact JSON holds no raw tab, newline or carriage return (they are escaped inside strings).
    return value.replace("\\", "\\\\") if "\\" in value else value


def copy_text(cur: Any, table: str, columns: Sequence[str], lines: list[str]) -> None:
    """COPY lines already in PostgreSQL's text format (see :func:`copy_text_value`), sent in pieces of about
    1 MB, each joined and encoded when it is read: a batch of state rows is several MB of text, and one
    ``StringIO`` of it took four bytes per character on top of the joined string (the consumer's peak memory)."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(*table.split(".")), sql.SQL(",").join(map(sql.Identifier, columns))
    )
    encoding = psycopg2.extensions.encodings.get(cur.connection.encoding, "utf-8")  # the client encoding
    cur.copy_expert(stmt.as_string(cur), _Pieces(lines, encoding), size=_PIECE)


_PIECE = 1 << 20


class _Pieces:
    """A file-like reader over ``lines`` for ``copy_expert``: each ``read`` joins and encodes the next lines,
    about ``size`` characters of them."""

    def __init__(self, lines: list[str], encoding: str) -> None:
        self._lines = lines
        self._next = 0
        self._encoding = encoding

    def read(self, size: int = _PIECE) -> bytes:
        lines, start = self._lines, self._next
        end, taken = start, 0
        while end < len(lines) and (taken < size or size < 0):
            taken += len(lines[end])
            end += 1
        self._next = end
        return "".join(lines[start:end]).encode(self._encoding)


@dataclass(frozen=True)
class StagingPlan:
    """How one state table's rows travel: COPY into a session staging table, then one upsert.

    Timestamps cross as epoch seconds (a float) and become ``timestamptz`` again with ``to_timestamp`` in
    the upsert: formatting and parsing a dozen timestamps per row as text cost more than the rest of the row
    on both sides. A double holds microseconds exactly at these magnitudes, and ``to_timestamp`` rounds to
    the microsecond, so the stored value is the folded one. Array columns cross as array literals.
    """

    staging: str
    columns: tuple[str, ...]
    arrays: tuple[int, ...]
    timestamps: tuple[int, ...]
    create: sql.Composed
    truncate: sql.Composed
    upsert: sql.Composed


# Which columns are timestamps or arrays is schema (the migrations): looked up once per table per process.
_PLANS: dict[tuple[str, tuple[str, ...]], StagingPlan] = {}


def staging_plan(cur: Any, table: str, columns: tuple[str, ...]) -> StagingPlan:
    plan = _PLANS.get((table, columns))
    if plan is not None:
        return plan
    cur.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory = 'A' FROM pg_attribute a"
        " JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s::regclass AND a.attnum > 0"
        " AND NOT a.attisdropped",
        (table,),
    )
    types = {name: (typ, is_array) for name, typ, is_array in cur.fetchall()}
    stamps = tuple(i for i, c in enumerate(columns) if types[c][0] == "timestamp with time zone")
    staging = "_in_" + table.split(".")[-1]
    ident = sql.Identifier
    create = sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
        ident(staging),
        sql.SQL(",").join(
            sql.SQL("{} {}").format(ident(c), sql.SQL("float8" if i in stamps else types[c][0]))
            for i, c in enumerate(columns)
        ),
    )
    select = sql.SQL(",").join(
        sql.SQL("to_timestamp({})").format(ident(c)) if i in stamps else ident(c)
        for i, c in enumerate(columns)
    )
    upsert = sql.SQL(
        "INSERT INTO {t} ({cols}) SELECT {sel} FROM {s} ON CONFLICT (generation, {k}) DO UPDATE SET {upd}"
    ).format(
        t=sql.SQL(table),
        cols=sql.SQL(",").join(map(ident, columns)),
        sel=select,
        s=ident(staging),
        k=ident(columns[1]),
        upd=sql.SQL(",").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=ident(c)) for c in columns[2:]),
    )
    plan = _PLANS[(table, columns)] = StagingPlan(
        staging,
        columns,
        tuple(i for i, c in enumerate(columns) if types[c][1]),
        stamps,
        create,
        sql.SQL("TRUNCATE {}").format(ident(staging)),
        upsert,
    )
    return plan
