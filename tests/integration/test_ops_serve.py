"""``casetrack serve`` as a real process: /metrics after a known stream, health, SIGTERM, exit codes."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg2

from app.processes import free_port
from app.settings import Settings
from tests.factories import case_stream
from tests.integration.helpers import consume, publish, publish_raw, query
from tests.integration.ops_support import (
    http_get,
    parse_metrics,
    start_cli,
    total,
    wait_for,
)
from tests.tools import promtool


def _serve(settings: Settings, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    proc = start_cli(settings, ["serve", *args], log, CASETRACK_METRICS_PORT=port)
    return proc, f"http://127.0.0.1:{port}", log


def _stop(proc: subprocess.Popen[bytes], log: Path) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("serve did not stop within 30 s of SIGTERM:\n" + log.read_text()) from None


def test_metrics_after_a_known_stream(
    settings_factory: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    settings = settings_factory(database_url, max_poll_interval_ms=3000)
    events = case_stream(40)
    publish(settings, events)
    t = settings.topics.case
    publish_raw(settings, [(t, b"k1", b"{not json", []), (t, b"k2", b"[1]", []), (t, b"k3", b"{oops", [])])
    n_records = len(events) + 3

    proc, base, log = _serve(settings, tmp_path, "--domain-cache", "0")
    try:
        wait_for(lambda: http_get(base + "/healthz")[0] == 200, 30, "/healthz")
        wait_for(lambda: http_get(base + "/readyz")[0] == 200, 60, "/readyz (group join)")

        def consumed() -> bool:
            m = parse_metrics(http_get(base + "/metrics")[1])
            return total(m, "casetrack_records_consumed_total", topic=t) == n_records

        wait_for(consumed, 60, "every record consumed")
        status, text = http_get(base + "/metrics")
        assert status == 200
        m = parse_metrics(text)

        assert total(m, "casetrack_events_applied_total", topic=t) == len(events)
        for ev_type in {e.type for e in events}:
            expected = sum(1 for e in events if e.type == ev_type)
            assert total(m, "casetrack_events_applied_total", topic=t, type=ev_type) == expected
        assert total(m, "casetrack_dead_letters_total", topic=t, reason="invalid_json") == 2
        assert total(m, "casetrack_dead_letters_total", topic=t, reason="not_an_object") == 1
        assert total(m, "casetrack_consumer_lag_records", topic=t) == 0
        assert total(m, "casetrack_consumer_position", topic=t) == n_records
        assert total(m, "casetrack_ready") == 1
        assert total(m, "casetrack_batch_records_count") >= 1

        # Domain layer: the same numbers as the analysts' view.
        url = settings.database_url or ""
        open_by_channel = dict(
            query(
                url,
                "SELECT channel, count(*) FROM case_status WHERE status IN"
                " ('received','accepted','assigned','returned','suspended','reopened') GROUP BY 1",
            )
        )
        for channel, n in open_by_channel.items():
            assert total(m, "casetrack_cases_open", channel=channel) == n
        assert total(m, "casetrack_cases_open") == sum(open_by_channel.values())
        assert total(m, "casetrack_dead_letters_pending", topic=t) == 3
        assert total(m, "casetrack_dead_letters_pending", topic=t, reason="invalid_json") == 2
        assert total(m, "casetrack_calendar_coverage_end_timestamp_seconds") > 1.7e9
        assert total(m, "casetrack_domain_query_success") == 1
        for name in ("casetrack_supervision_orders_overdue", "casetrack_rectification_items_overdue"):
            assert (name, ()) in m
        assert "process_resident_memory_bytes" in {n for n, _ in m}

        assert http_get(base + "/nope")[0] == 404
        tool = promtool("metrics format")
        check = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        code = _stop(proc, log)
    assert code == 0, log.read_text()
    assert "ERROR casetrack" not in log.read_text()  # (kafka-python may log noise of its own at close)


def test_sigterm_mid_stream_loses_and_doubles_nothing(
    settings_factory: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    settings = settings_factory(database_url, max_poll_interval_ms=3000, max_batch_records=50)
    events = case_stream(400, seed=3)
    publish(settings, events)
    proc, base, log = _serve(settings, tmp_path, "--no-domain-metrics")
    try:

        def started() -> bool:
            m = parse_metrics(http_get(base + "/metrics")[1])
            return total(m, "casetrack_records_consumed_total") > 0

        wait_for(started, 60, "the first batch", interval=0.05)
    finally:
        code = _stop(proc, log)
    assert code == 0, log.read_text()
    url = settings.database_url or ""
    stored = query(url, "SELECT count(*) FROM casetrack.event_store")[0][0]
    positions = query(url, "SELECT coalesce(sum(next_offset), 0) FROM casetrack.tracking")[0][0]
    assert 0 < stored < len(events)  # it did stop in the middle
    assert stored == positions  # batches are atomic: what was stored is exactly what was committed
    rest = consume(settings)
    assert rest.duplicates == 0 and rest.applied == len(events) - stored
    assert query(url, "SELECT count(*) FROM casetrack.event_store")[0][0] == len(events)


def test_positions_ahead_of_the_broker_exit_3(
    settings_factory: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    settings = settings_factory(database_url, max_poll_interval_ms=3000)
    publish(settings, case_stream(5))
    consume(settings)
    url = settings.database_url or ""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE casetrack.tracking SET next_offset = next_offset + 1000")
    conn.close()
    proc, base, log = _serve(settings, tmp_path, "--no-domain-metrics")
    try:
        code = proc.wait(90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("serve kept running:\n" + log.read_text()) from None
    out = log.read_text()
    assert code == 3, out
    assert "ahead of the broker" in out or "out of range" in out.lower(), out


def test_a_second_instance_shares_the_partitions_and_takes_over(
    settings_factory: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    """The runbook's "add a consumer instance": two serve processes split the partitions; when one stops,
    the other resumes its partitions from the stored positions; nothing is skipped or applied twice."""
    settings = settings_factory(database_url, max_poll_interval_ms=3000)
    url = settings.database_url or ""
    events = case_stream(90, seed=5)
    thirds = [
        events[: len(events) // 3],
        events[len(events) // 3 : 2 * len(events) // 3],
        events[2 * len(events) // 3 :],
    ]

    def folded() -> int:
        return int(query(url, "SELECT count(*) FROM casetrack.event_store")[0][0])

    def assigned(base: str) -> int:
        status, body = http_get(base + "/readyz")
        return int(body.split()[1]) if status == 200 else 0

    publish(settings, thirds[0])
    first, base1, log1 = _serve(settings, tmp_path, "--no-domain-metrics")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: folded() == len(thirds[0]), 60, "the first instance to consume")
        second, base2, log2 = _serve(settings, tmp_path, "--no-domain-metrics")
        # 3 topics x 4 partitions, split. Each instance reports its share once it has taken it over after the
        # rebalance, so for a moment the first can still show all 12 while the second already shows its part.
        wait_for(
            lambda: (
                0 < assigned(base1) < 12
                and 0 < assigned(base2) < 12
                and assigned(base1) + assigned(base2) == 12
            ),
            60,
            "both instances to hold a share of the partitions",
        )
        publish(settings, thirds[1])
        wait_for(lambda: folded() == len(thirds[0]) + len(thirds[1]), 60, "the pair to consume")
        assert _stop(first, log1) == 0
        wait_for(lambda: assigned(base2) == 12, 60, "the second instance to take over")
        publish(settings, thirds[2])
        wait_for(lambda: folded() == len(events), 60, "the survivor to consume the rest")
        m = parse_metrics(http_get(base2 + "/metrics")[1])
        assert total(m, "casetrack_events_duplicate_total") == 0
    finally:
        _stop(first, log1)
        if second is not None:
            assert _stop(second, log2) == 0, log2.read_text()
    positions = query(url, "SELECT sum(next_offset) FROM casetrack.tracking")[0][0]
    assert positions == len(events)
    assert query(url, "SELECT sum(event_count) FROM case_status")[0][0] == len(events)
