"""Malformed messages: every way an upstream system can get a message wrong, and how the codec names it.

``malformed_fraction`` of the events are followed by an invalid message derived from that event's envelope,
cycling through :data:`MALFORMED_REASONS` in a shuffled order so that a small run still meets every kind. Each
kind maps to the :class:`events.codec.DecodeError` reason the codec must give it; the tests and the fault
suites use that mapping as ground truth for the dead-letter queue.
"""

from __future__ import annotations

from typing import Any, Final

from events.catalog import EVENT_TYPES
from producers.workload.base import SimBase
from producers.workload.config import AggregateName, Message
from producers.workload.envelope import STRUCTURED_HEADERS, dumps, event_id

#: every malformed kind and the :class:`events.codec.DecodeError` reason the codec gives it
MALFORMED_REASONS: Final[dict[str, str]] = {
    "broken_json": "invalid_json",
    "invalid_utf8": "invalid_utf8",
    "json_array": "not_an_object",
    "unknown_type": "unknown_type",
    "missing_field": "schema_violation",
    "wrong_type": "schema_violation",
    "key_mismatch": "key_mismatch",
    "oversized": "oversized",
    "nul_character": "nul_character",
    "future_version": "unsupported_version",
    "naive_time": "schema_violation",
}
_WRONG_VALUES: Final[dict[str, Any]] = {  # a value of the wrong type or outside the enum or pattern, per field
    "channel": "传真 fax", "urgency": "very_urgent", "time_limit_days": "五天", "outcome": "done",
    "satisfaction": "meh", "level": "emperor", "decision": "maybe", "extra_days": "十", "extra": -3,
    "restart_clock": "sometimes", "department": 42, "departments": "市住房和城乡建设局", "due_date": "下周五",
    "percent": 150, "measures_done": -1, "measures": [], "deadline": "2026-13-45", "new_deadline": "soon",
    "accepted": "perhaps", "source": "rumour", "into_case_id": ["x"], "reason": 7, "summary": {"x": 1},
}  # fmt: skip
_TEXT_KEYS: Final = ("note", "reason", "summary", "reply_summary", "result", "problem", "title")


class Defects:
    """Makes the malformed messages of one run, with the run's random generator and stats."""

    def __init__(self, sim: SimBase) -> None:
        self._sim = sim
        self._cycle: list[str] = []
        self._required = {
            t: [n for n, f in m.model_fields.items() if f.is_required()] for t, (m, _) in EVENT_TYPES.items()
        }

    def make(self, env: dict[str, Any], aggregate: AggregateName, key: bytes) -> Message:
        """An invalid message, the next kind of :data:`MALFORMED_REASONS` in a shuffled cycle."""
        sim = self._sim
        rng, rnd, pick = sim.rng, sim.rnd, sim.pick
        if not self._cycle:
            self._cycle = list(MALFORMED_REASONS)
            rng.shuffle(self._cycle)
        defect = self._cycle.pop()
        bad = dict(env)
        data = bad["data"] = dict(env["data"])
        bad["id"] = event_id(rng.getrandbits(128))
        if defect == "unknown_type":
            bad["type"] = pick(
                ("case.escalated", "case.deleted", "supervision.paused", "rectification.archived")
            )
        elif defect == "missing_field":
            present = [k for k in self._required[bad["type"]] if k in data]
            if present and rnd() < 0.6:
                del data[pick(present)]
            else:
                del bad[pick(("id", "source", "subject", "time", "data"))]
        elif defect == "wrong_type":
            wrong = [k for k in data if k in _WRONG_VALUES]
            if wrong:
                k = pick(wrong)
                data[k] = _WRONG_VALUES[k]
            else:
                bad["specversion"] = "0.3"
        elif defect == "key_mismatch":
            key = key + b"-0"
        elif defect == "oversized":
            data["attachment"] = "附" * 100_000  # 300,000 bytes of UTF-8
        elif defect == "nul_character":
            text = next((k for k in _TEXT_KEYS if k in data), None)
            if text is None:
                bad["source"] += "\x00"
            else:
                data[text] = data[text] + "\x00"
        elif defect == "future_version":
            bad["schemaversion"] = 99
        elif defect == "naive_time":
            bad["time"] = bad["time"][:-6]
        value = dumps(bad).encode()
        if defect == "broken_json" or defect == "invalid_utf8":
            cut = len(value) // 2
            while value[cut] >= 0x80:  # cut between characters, so the rest stays valid UTF-8
                cut -= 1
            value = value[:cut] if defect == "broken_json" else value[:cut] + b"\xff\xfe" + value[cut:]
        elif defect == "json_array":
            value = b"[" + value + b"]"
        stats = sim.stats
        stats.malformed += 1
        stats.by_defect[defect] = stats.by_defect.get(defect, 0) + 1
        return Message(aggregate, key, value, STRUCTURED_HEADERS, "malformed", bad.get("id"), None, defect)
