"""Latency: a steady stream (default 1,000 events/s for 60 s) against a running consumer; how long from produce to
visible in ``case_status``.

    python -m bench.latency                           # `casetrack consume` (no --until-caught-up)
    python -m bench.latency --serve                   # `casetrack serve` (consumer group, /metrics)
    python -m bench.latency --rate 2000 --seconds 30 --env CASETRACK_CONSUMER__POLL_TIMEOUT_MS=50

Each message's clock starts when it is handed to the producer (``send``) and stops when a poll of
``casetrack.tracking`` (every 5 ms) shows its partition's stored position past its offset. The consumer writes the
projection rows and the positions in one transaction, so that is the moment the row is visible in
``case_status`` (and the other views) too. The poll interval bounds the measurement error (+5 ms).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import psycopg2

from app.processes import free_port
from bench import harness as h
from bench import monitor as m
from producers.generator import GeneratorConfig, Message, generate


class Visibility:
    """Send times per partition, and a poller that stamps them visible."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pending: dict[tuple[str, int], deque[tuple[int, float]]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def sent(self, topic: str, partition: int, offset: int, t_send: float) -> None:
        with self.lock:
            self.pending[(topic, partition)].append((offset, t_send))

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(q) for q in self.pending.values())

    def _poll(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                while not self.stop.is_set():
                    cur.execute("SELECT topic, partition, next_offset FROM casetrack.tracking")
                    now = time.monotonic()
                    rows = cur.fetchall()
                    with self.lock:
                        for topic, partition, next_offset in rows:
                            q = self.pending.get((topic, partition))
                            # acks of one partition arrive in offset order, so the queue is sorted
                            while q and q[0][0] < next_offset:
                                self.latencies.append(now - q.popleft()[1])
                    self.stop.wait(0.005)
        finally:
            conn.close()


def pace(settings: Any, messages: list[Message], rate: float, vis: Visibility) -> float:
    """Send ``messages`` at ``rate`` per second (10 ms ticks); returns the achieved rate."""
    t = settings.topics
    topic_of = {"case": t.case, "supervision": t.supervision, "rectification": t.rectification}
    prod = h.producer(settings.kafka_bootstrap)
    per_tick = rate / 100
    t0 = time.monotonic()
    sent = 0
    try:
        while sent < len(messages):
            due = int((time.monotonic() - t0) * 100 * per_tick) + 1
            while sent < min(due, len(messages)):
                m = messages[sent]
                t_send = time.monotonic()
                fut = prod.send(topic_of[m.aggregate], key=m.key, value=m.value, headers=list(m.headers))
                fut.add_callback(lambda md, ts=t_send: vis.sent(md.topic, md.partition, md.offset, ts))
                sent += 1
            next_tick = t0 + (int((time.monotonic() - t0) * 100) + 1) / 100
            time.sleep(max(0.0, next_tick - time.monotonic()))
        prod.flush()
    finally:
        prod.close(timeout=30)
    return sent / (time.monotonic() - t0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=1000.0, help="events per second")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--serve", action="store_true", help="measure `casetrack serve` instead of `consume`")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    p.add_argument("--seed", type=int, default=20261101)
    args = p.parse_args(argv)
    extra = h.env_pairs(args.env)

    h.say(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    work = Path(tempfile.mkdtemp(prefix="casetrack-latency-"))
    total = int(args.rate * args.seconds)
    with h.servers() as srv:
        url = srv.fresh_database("latency")
        settings = h.make_settings(srv.bootstrap, url, h.new_topics("lat"), work / "data", 4,
                                   max_poll_interval_ms=5000)  # fmt: skip
        messages = list(generate(GeneratorConfig.for_event_count(total + 500, seed=args.seed)))
        warmup, measured = messages[:500], messages[500:]
        if args.serve:
            cmd = ["serve"]
            extra.setdefault("CASETRACK_METRICS_PORT", str(free_port()))
        else:
            cmd = ["consume"]
        env = h.cli_env(settings, extra)
        h.say(f"starting `casetrack {' '.join(cmd)}` ...")
        with open(work / "consumer.log", "wb") as log:
            proc = subprocess.Popen(
                [h.CASETRACK, *cmd], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=h.REPO
            )
        watch = m.MemoryWatch(proc.pid)
        vis = Visibility(url)
        vis.thread.start()
        try:
            achieved, lost = _drive(settings, warmup, measured, args.rate, args.seconds, vis, proc, work)
        finally:
            vis.stop.set()
            vis.thread.join()
            h.stop_process(proc)
            watch.stop()
    lat = vis.latencies
    print()
    print(f"== latency: {len(lat):,} events at {achieved:,.0f}/s through `casetrack {' '.join(cmd)}` ==")
    if lat:
        print(f"  p50 {percentile(lat, 0.50) * 1000:,.0f} ms   p90 {percentile(lat, 0.90) * 1000:,.0f} ms   "
              f"p99 {percentile(lat, 0.99) * 1000:,.0f} ms   max {max(lat) * 1000:,.0f} ms   "
              f"mean {statistics.fmean(lat) * 1000:,.0f} ms")  # fmt: skip
        p99 = percentile(lat, 0.99)
        print(f"  target p99 <= 1000 ms: {'met' if p99 <= 1.0 else 'MISSED'}")
        print(f"  target p99 <= 250 ms at 1,000 events/s (issue 20): {'met' if p99 <= 0.25 else 'MISSED'}")
    print(f"  consumer peak RSS {watch.peak_mb:.0f} MB; not visible after 60 s: {lost}")
    return 0 if lat and not lost else 1


def _drive(
    settings: Any,
    warmup: list[Any],
    measured: list[Any],
    rate: float,
    seconds: float,
    vis: Visibility,
    proc: subprocess.Popen[bytes],
    work: Path,
) -> tuple[float, int]:
    """Warm the consumer up, then send ``measured`` at ``rate``; (the rate achieved, events never visible)."""
    h.say("warming up (500 events) ...")
    pace(settings, warmup, 500, vis)
    deadline = time.monotonic() + 120
    while vis.outstanding() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if vis.outstanding():
        raise RuntimeError(
            f"the consumer did not catch up with the warm-up:\n{(work / 'consumer.log').read_text()}"
        )
    vis.latencies.clear()
    h.say(f"sending {len(measured):,} events at {rate:,.0f}/s for {seconds:.0f}s ...")
    achieved = pace(settings, measured, rate, vis)
    deadline = time.monotonic() + 60
    while vis.outstanding() and time.monotonic() < deadline:
        time.sleep(0.05)
    return achieved, vis.outstanding()


if __name__ == "__main__":
    sys.exit(main())
