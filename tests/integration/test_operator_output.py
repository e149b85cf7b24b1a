"""What an operator reads (issue 15): tables at 80 columns and piped, one-line errors for unreachable servers,
clean messages for bad settings. Every test runs the real ``casetrack`` command as a process."""

from __future__ import annotations

import json
import re
import socket
import uuid
from pathlib import Path

import pytest
from rich.cells import cell_len

from app.settings import Settings
from events.topics import Topics
from tests.factories import case_stream
from tests.integration.helpers import consume, publish, publish_raw
from tests.integration.ops_support import cli_env, run_cli, run_env

PASSWORD = "s3cret-pw"


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def widest(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


@pytest.fixture
def long_topics(settings_factory: object, database_url: str) -> Settings:
    """Settings whose topic names are as long as the demo's, with one dead letter and consumed events."""
    uid = "20261204120000-" + uuid.uuid4().hex[:4]
    topics = Topics(
        case=f"casetrack-demo.{uid}.gov.case.events",
        supervision=f"casetrack-demo.{uid}.gov.supervision.events",
        rectification=f"casetrack-demo.{uid}.gov.rectification.events",
    )
    settings: Settings = settings_factory(database_url, topics)  # type: ignore[operator]
    publish(settings, case_stream(4))
    publish_raw(settings, [(topics.case, b"c-1", b'{"specversion": "1.0", "id": "x"', [])])
    consume(settings)
    return settings


def test_lag_at_80_columns_cuts_nothing(long_topics: Settings) -> None:
    proc = run_cli(long_topics, ["lag"], COLUMNS=80)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert widest(out) <= 80, out
    assert "…" not in out
    assert long_topics.topics.case in out and long_topics.topics.rectification in out  # whole, on a line
    assert "total lag: 0 records" in out


def test_lag_piped_is_one_table_with_whole_cells(long_topics: Settings) -> None:
    proc = run_cli(long_topics, ["lag"])  # no COLUMNS, not a terminal: as wide as the rows
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if long_topics.topics.case in line]
    assert len(rows) == 4 and all("│" in r for r in rows), proc.stdout  # a table row per partition
    assert "…" not in proc.stdout


@pytest.mark.parametrize("columns", ["80", None])
def test_dlq_list_shows_the_source_that_dlq_show_takes(long_topics: Settings, columns: str | None) -> None:
    env = cli_env(long_topics) | ({"COLUMNS": columns} if columns else {})
    listed = run_env(env, ["dlq", "list"])
    assert listed.returncode == 0, listed.stderr
    assert "…" not in listed.stdout
    if columns:
        assert widest(listed.stdout) <= 80, listed.stdout
    (source,) = json.loads(run_cli(long_topics, ["dlq", "list", "--json"]).stdout)[0:1]
    assert source["source"] in listed.stdout  # whole, so that it can be copied into `dlq show`
    shown = run_cli(long_topics, ["dlq", "show", source["source"]])
    assert shown.returncode == 0 and "invalid_json" in shown.stdout, shown.stdout + shown.stderr


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["lag"], ["dlq", "list"], ["consume", "--until-caught-up"], ["replay"], ["serve"]],
    ids=lambda a: a[0],
)
def test_an_unreachable_database_is_one_clear_error(settings: Settings, args: list[str]) -> None:
    port = closed_port()
    url = f"postgresql://casetrack:{PASSWORD}@127.0.0.1:{port}/casetrack"
    proc = run_cli(settings, args, CASETRACK_DATABASE_URL=url)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith(f"Error: cannot reach PostgreSQL at 127.0.0.1:{port}/casetrack:"), lines
    assert "Connection refused" in lines[0] and "CASETRACK_DATABASE_URL" in lines[1]
    assert PASSWORD not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(settings: Settings) -> None:
    url = f"postgresql://casetrack:{PASSWORD}@127.0.0.1:{closed_port()}/casetrack"
    proc = run_cli(settings, ["--debug", "lag"], CASETRACK_DATABASE_URL=url)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "OperationalError" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["lag"], ["consume", "--until-caught-up"], ["produce", "events.jsonl"], ["replay"]],
    ids=lambda a: a[0],
)
def test_an_unreachable_broker_fails_fast_naming_what_was_tried(
    settings: Settings, args: list[str], tmp_path: Path
) -> None:
    if args[0] == "produce":
        (tmp_path / "events.jsonl").write_text(json.dumps(case_stream(1)[0].wire()) + "\n")
        args = ["produce", str(tmp_path / "events.jsonl")]
    a, b = closed_port(), closed_port()
    proc = run_cli(settings, args, CASETRACK_KAFKA_BOOTSTRAP=f"127.0.0.1:{a},127.0.0.1:{b}")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f"Error: cannot reach Kafka: tried 127.0.0.1:{a} (connection refused), "
        f"127.0.0.1:{b} (connection refused)",
        "  check that the broker runs and CASETRACK_KAFKA_BOOTSTRAP is right (--debug shows the traceback)",
    ], proc.stderr  # and nothing else: no client warnings, no traceback


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CASETRACK_LOG_LEVEL", "LOUD", "CASETRACK_LOG_LEVEL: Value error, unknown log level 'LOUD'"),
        ("CASETRACK_PARTITIONS", "many", "CASETRACK_PARTITIONS: Input should be a valid integer"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    settings: Settings, variable: str, value: str, message: str
) -> None:
    proc = run_env({**cli_env(settings), variable: value}, ["lag"])
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("Error: invalid settings: ") and message in line, line


def test_a_lower_case_log_level_is_accepted(settings: Settings) -> None:
    proc = run_cli(settings, ["lag"], CASETRACK_LOG_LEVEL="debug")
    assert proc.returncode == 0, proc.stderr


def test_replay_shows_the_clean_up_and_counts_it_in_the_summary(settings: Settings) -> None:
    """The retired generation's rows are deleted after the swap; that work shows progress (a line when it starts,
    then every 5 s when not on a terminal) and its time is in the summary, which counts the whole replay."""
    publish(settings, case_stream(30))
    consume(settings)
    assert run_cli(settings, ["replay", "--projection", "case"]).returncode == 0
    proc = run_cli(settings, ["replay", "--projection", "case", "--from", "event-store"])
    assert proc.returncode == 0, proc.stderr
    cleanup = re.search(r"^  case cleanup: 0 / (\d+)$", proc.stderr, re.MULTILINE)
    assert cleanup and int(cleanup[1]) == 30, proc.stderr  # one row per case of the retired generation
    (summary,) = proc.stdout.strip().splitlines()
    assert re.fullmatch(
        r"case: generation \d+ is live \(was \d+\) after \d+\.\ds: [\d,]+ events from event-store folded in "
        r"\d+\.\ds \([\d,]+/s\); live consumers paused \d+ ms for the swap; 30 retired rows deleted in \d+\.\ds",
        summary,
    ), summary
    assert "Task <kafka" not in proc.stderr and "blocking the event loop" not in proc.stderr


def test_produce_reports_once_and_gives_advice_that_applies(settings: Settings, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(e.wire(), ensure_ascii=False) + "\n" for e in case_stream(1)[:3]))
    proc = run_cli(settings, ["produce", str(good)])
    assert proc.returncode == 0 and proc.stdout == "sent 3 events\n" and "sent" not in proc.stderr, proc

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"specversion": "1.0", "id": "x"\nnot json\n')
    proc = run_cli(settings, ["produce", str(bad)])
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"{bad}:1: invalid_json: Expecting ',' delimiter (at column 33)",
        f"{bad}:2: invalid_json: Expecting value (at column 1)",
        "Error: 2 invalid line(s); nothing was sent; no line is valid",
    ], proc.stderr
