"""Why a record is not an event: :class:`DecodeError` with a stable reason, and details that never quote input.

The reason codes are the ``casetrack.reason`` header of a dead letter and a metric label (docs/operators.md).
Split from :mod:`events.codec`, which raises these errors and re-exports them.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import ValidationError

# Stable reason codes: the value of the ``casetrack.reason`` dead-letter header and a metric label.
REASONS: Final = (
    "oversized",
    "empty_value",
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "nul_character",
    "unknown_type",
    "unsupported_version",
    "schema_violation",
    "key_mismatch",
    "wrong_topic",
    "id_conflict",
)


class DecodeError(Exception):
    """A record that is not a valid catalog event. ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:1000]


_FIELD: Final = re.compile(r"^(?:[a-z][a-z_]{0,39}|[a-z_]+\[[A-Za-z0-9_.]+\])$")


def describe(err: ValidationError) -> str:
    """Where validation failed, by field names and indexes only, at most five places."""
    parts = []
    for e in err.errors(include_input=False, include_url=False, include_context=False)[:5]:
        # Only field names and list indexes: a key of the input (e.g. a phone number used as a key) is data.
        loc = ".".join(str(x) if isinstance(x, int) or _FIELD.match(str(x)) else "<key>" for x in e["loc"])
        loc = loc or "(envelope)"
        parts.append(f"{loc}: {e['msg']}")
    more = err.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def without_tracebacks(error: DecodeError) -> DecodeError:
    """``error`` with the tracebacks of it and of the errors it came from detached (its reason and detail are
    text): :meth:`Codec.decode_batch` returns errors as values, and they must not keep the caller alive.

    A traceback holds the frames it passed through, and from them the stack down to the consumer's batch: the
    batch's records and events, and the list holding this error, a reference cycle. Under :func:`consumers.process_tuning.tune_gc`'s
    thresholds such cycles reach the oldest generation and stay, so every batch with a dead letter was kept
    whole (the consumer's peak RSS grew with the events consumed: docs/benchmarks.md, "Throughput").
    """
    pending: list[BaseException | None] = [error]
    seen: set[int] = set()
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        exc.__traceback__ = None
        pending += (exc.__cause__, exc.__context__)
    return error
