"""``casetrack produce FILE``: the real CLI in a subprocess, on the session's broker, read back from the topics.

The documented rule (README "Commands", ``producers/jsonl.py``): the whole file is validated first; each invalid
line is reported as ``FILE:LINE: reason: detail``; with any invalid line nothing at all is sent and the command
fails (click's error exit, 1), and ``--skip-invalid`` sends exactly the valid lines. Either way nothing invalid
reaches Kafka, which is checked here by reading every topic back, not by trusting the printed counts.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import build_codec
from app.settings import Settings
from events.catalog import Event
from events.codec import Record, event_from_dict
from tests.factories import TZ, envelope
from tests.integration.helpers import read_topic
from tests.integration.ops_support import run_cli

T0 = dt.datetime(2026, 10, 12, 8, 30, tzinfo=TZ)
RECEIVED = {"channel": "hotline_12345", "category": "市政设施", "summary": "路灯不亮", "region": "长安区"}
ISSUED = {
    "title": "督办路灯维修",
    "issued_by": "市政府办公室",
    "level": "office",
    "departments": ["市城管局"],
    "due_date": "2026-11-01",
}
OPENED = {
    "source": "audit",
    "problem": "台账不全",
    "department": "市住建局",
    "responsible_person": "李四",
    "deadline": "2026-12-01",
    "measures": ["补齐台账"],
}


def line(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def event(event_id: str, type_: str, subject: str, minutes: int, data: dict[str, Any]) -> dict[str, Any]:
    return envelope(event_id, type_, subject, T0 + dt.timedelta(minutes=minutes), data)


#: Every valid line: one per aggregate family (three topics), plus a second event of the first case.
VALID: dict[int, dict[str, Any]] = {
    1: event("p-1", "case.received", "C-1", 0, RECEIVED),
    4: event("p-2", "supervision.issued", "S-1", 1, ISSUED),
    11: event("p-3", "rectification.opened", "R-1", 2, OPENED),
    12: event("p-4", "case.assigned", "C-1", 3, {"department": "市城管局"}),
}

NO_SUBJECT = {k: v for k, v in event("p-7", "case.closed", "C-1", 6, {}).items() if k != "subject"}
# RFC 3339 requires a UTC offset in ``time``.
NO_OFFSET = {**event("p-13", "case.closed", "C-1", 9, {}), "time": "2026-10-12T09:00:00"}

#: Every invalid line and the reason code the CLI must give for it. Line 2 is blank: skipped, yet counted,
#: so that the numbers stay those an editor shows.
INVALID: dict[int, tuple[bytes, str]] = {
    3: (b'{"specversion": "1.0", "id": "p-x", "type": ', "invalid_json"),
    5: (line(event("p-5", "case.teleported", "C-2", 4, {})), "unknown_type"),
    6: (line(event("p-6", "case.assigned", "C-1", 5, {})), "schema_violation"),  # data.department missing
    7: (line(NO_SUBJECT), "schema_violation"),  # nothing to key the record by
    8: (line(event("p-8", "case.closed", "", 7, {})), "schema_violation"),  # an empty subject (Kafka key)
    9: (line([event("p-9", "case.closed", "C-1", 8, {})]), "not_an_object"),
    10: ('{"id": "p-10", "summary": "\xff"}'.encode("latin-1"), "invalid_utf8"),
    13: (line(NO_OFFSET), "schema_violation"),
}


def write_file(path: Path, lines: dict[int, bytes]) -> Path:
    """Lines at their given (1-based) numbers; gaps become blank lines."""
    path.write_bytes(b"".join(lines.get(n, b"") + b"\n" for n in range(1, max(lines) + 1)))
    return path


def reported(file: Path, stderr: str) -> dict[int, str]:
    """{line number: reason} of the ``FILE:LINE: reason: detail`` lines the CLI printed."""
    found: dict[int, str] = {}
    for m in re.finditer(rf"^{re.escape(str(file))}:(\d+): (\w+): (.+)$", stderr, re.MULTILINE):
        assert int(m[1]) not in found, f"line {m[1]} reported twice"
        found[int(m[1])] = m[2]
    return found


def read_back(settings: Settings) -> list[tuple[str, bytes | None, Event]]:
    """Every record on the three event topics, decoded as the consumer would: (topic, key, event)."""
    assert settings.kafka_bootstrap
    codec = build_codec(settings)
    out = []
    for topic in settings.topics.all():
        for r in read_topic(settings.kafka_bootstrap, topic):
            rec = Record(topic, r.partition, r.offset, r.key, r.value, tuple(r.headers))
            out.append((topic, r.key, codec.decode(rec)))  # raises on anything invalid
    return out


def expected_records(settings: Settings) -> list[tuple[str, str, str]]:
    """(topic, id, subject) of the valid lines, each on its aggregate's topic."""
    topics = {"case": settings.topics.case, "supervision": settings.topics.supervision,
              "rectification": settings.topics.rectification}  # fmt: skip
    events = [event_from_dict(e) for e in VALID.values()]
    return sorted((topics[e.aggregate], e.id, e.subject) for e in events)


def assert_exactly_the_valid_events(settings: Settings) -> list[tuple[str, bytes | None, Event]]:
    records = read_back(settings)
    assert sorted((t, e.id, e.subject) for t, _, e in records) == expected_records(settings)
    for _, key, e in records:
        assert key == e.subject.encode("utf-8"), "the Kafka key is the subject"
    return records


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    lines = {n: line(e) for n, e in VALID.items()} | {n: raw for n, (raw, _) in INVALID.items()}
    return write_file(tmp_path / "events.jsonl", lines)


def test_any_invalid_line_sends_nothing_and_names_every_invalid_line(
    settings: Settings, mixed_file: Path
) -> None:
    proc = run_cli(settings, ["produce", str(mixed_file)])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert reported(mixed_file, proc.stderr) == {n: reason for n, (_, reason) in INVALID.items()}
    assert f"{len(INVALID)} invalid line(s); nothing was sent" in proc.stderr
    assert f"--skip-invalid to send the {len(VALID)} valid ones" in proc.stderr
    assert "sent " not in proc.stdout
    assert read_back(settings) == []


def test_skip_invalid_sends_exactly_the_valid_lines(settings: Settings, mixed_file: Path) -> None:
    proc = run_cli(settings, ["produce", "--skip-invalid", str(mixed_file)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert reported(mixed_file, proc.stderr) == {n: reason for n, (_, reason) in INVALID.items()}
    assert f"sent {len(VALID)} events, skipped {len(INVALID)} invalid" in proc.stdout
    records = assert_exactly_the_valid_events(settings)
    # Structured mode: the whole envelope is the value, equal to the line that was read.
    by_id = {e["id"]: e for e in VALID.values()}
    for _, _, e in records:
        assert e.wire() == event_from_dict(by_id[e.id]).wire()


def test_a_valid_file_is_sent_in_binary_mode(settings: Settings, tmp_path: Path) -> None:
    file = write_file(tmp_path / "valid.jsonl", {n: line(e) for n, e in VALID.items()})
    proc = run_cli(settings, ["produce", "--binary-mode", str(file)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"sent {len(VALID)} events" in proc.stdout and "skipped" not in proc.stdout
    assert reported(file, proc.stderr) == {}
    assert_exactly_the_valid_events(settings)
    assert settings.kafka_bootstrap
    for r in read_topic(settings.kafka_bootstrap, settings.topics.case):
        headers = dict(r.headers)
        assert headers["ce_specversion"] == b"1.0" and headers["ce_subject"] == r.key


def test_a_nul_character_is_reported_not_sent(settings: Settings, tmp_path: Path) -> None:
    nul = event("p-nul", "case.received", "C-9", 0, {**RECEIVED, "summary": "路灯\u0000不亮"})
    file = write_file(tmp_path / "nul.jsonl", {1: line(VALID[1]), 2: line(nul)})
    proc = run_cli(settings, ["produce", str(file)])
    assert reported(file, proc.stderr) == {2: "nul_character"}
    assert proc.returncode == 1
    assert read_back(settings) == []
