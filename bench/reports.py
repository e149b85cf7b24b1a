"""Reports over one year of demo data: how long ``casetrack report`` takes on about 1,000,000 events.

    python -m bench.reports                       # a year (2026) at 400 cases a day, about 1,000,000 events
    python -m bench.reports --days 90 --repeat 5

Generates the workload (the demo's generator, one year from 1 January), loads its valid events into a fresh
database's event store with the consumer's own adapter (``PgStore.append_events``; no broker, no fold: the
reports read only the event store), then times each report as the CLI computes it (facts SQL + figures,
no output) over the year, a quarter and a month, as of a moment after the load, and prints the median of
``--repeat`` runs. Petitioners are replaced by well-formed sealed-shaped stand-ins of realistic size (the
reports never open them; sealing a million for real would only time the sealer).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import statistics
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import psycopg2

from bench import harness as h
from bench import monitor as m
from consumers.pg_store import PgStore
from consumers.ports import StoredEvent
from events import data as d
from events.catalog import Event
from events.codec import Codec, DecodeError, Record
from producers.generator import GeneratorConfig, generate
from projections.calendar import WorkCalendar
from projections.policy import default_policy
from reports import build
from reports import pg_facts as facts
from reports.periods import parse_period
from reports.table import Report

CHUNK = 20_000


def _stand_in(person: Any, salt: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"{salt}{person}".encode()).digest()
    return {"person": "p_" + digest[:12].hex(), "alg": "AES-256-GCM",
            "nonce": base64.b64encode(digest[:12]).decode(), "ct": base64.b64encode(digest * 4).decode(), "v": 1}  # fmt: skip


def _sealed_shape(event: Event) -> Event:
    p = event.data
    if not isinstance(p, d.CaseReceived) or (p.petitioner is None and not p.co_petitioners):
        return event
    fields = dict(p.__dict__)
    if p.petitioner is not None:
        fields["petitioner"] = _stand_in(p.petitioner, event.id)
    if p.co_petitioners:
        fields["co_petitioners"] = [_stand_in(c, f"{event.id}#{k}") for k, c in enumerate(p.co_petitioners)]
    return event.model_copy(update={"data": d.CaseReceived.model_validate(fields)})


def _events(config: GeneratorConfig, codec: Codec, topics: dict[str, str]) -> Iterator[StoredEvent]:
    seen: set[str] = set()
    for i, msg in enumerate(generate(config, calendar=WorkCalendar.load())):
        if msg.kind != "valid" or msg.event_id in seen:
            continue
        topic = topics[msg.aggregate]
        try:
            event = codec.decode(Record(topic, 0, i, msg.key, msg.value, msg.headers))
        except DecodeError:  # pragma: no cover - the generator's valid messages decode
            continue
        seen.add(event.id)
        yield StoredEvent(_sealed_shape(event), topic, 0, i)


def load(url: str, config: GeneratorConfig) -> int:
    """Generate and store the workload; returns the number of events stored."""
    topics = {"case": "bench.case", "supervision": "bench.sup", "rectification": "bench.rect"}
    codec = Codec({t: a for a, t in topics.items()})  # type: ignore[misc]
    store = PgStore(url, codec, application_name="casetrack-bench-reports")
    total, batch = 0, list[StoredEvent]()
    try:
        for se in _events(config, codec, topics):
            batch.append(se)
            if len(batch) >= CHUNK:
                with store.transaction() as tx:
                    total += len(tx.append_events(batch))
                batch = []
                if total % 200_000 < CHUNK:
                    h.say(f"  stored {total:,} events")
        if batch:
            with store.transaction() as tx:
                total += len(tx.append_events(batch))
    finally:
        store.close()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ANALYZE casetrack.event_store")
    conn.close()
    return total


def timed(make: Callable[[], Report], repeat: int) -> tuple[float, Report]:
    times, report = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        report = make()
        times.append(time.perf_counter() - t0)
    assert report is not None
    return statistics.median(times), report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--cases-per-day", type=int, default=400)
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    h.say(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    config = GeneratorConfig(
        seed=args.seed, start=dt.date(2026, 1, 1), days=args.days, cases_per_day=args.cases_per_day,
        duplicate_fraction=0.0, malformed_fraction=0.0,
    )  # fmt: skip
    calendar, legal = WorkCalendar.load(), build.default_legal_limit(default_policy())
    with h.servers() as s:
        url = s.fresh_database("reports")
        t0 = time.perf_counter()
        n = load(url, config)
        h.say(f"stored {n:,} events in {time.perf_counter() - t0:.1f} s")
        conn = psycopg2.connect(url)
        try:
            with conn:
                as_of = facts.settled_as_of(conn, None)
            last = config.start + dt.timedelta(days=args.days - 1)
            periods = [parse_period(f"{config.start.year}"), parse_period(f"{config.start.year}-Q3"),
                       parse_period(f"{config.start.year}-07"), parse_period(f"{config.start}..{last}")]  # fmt: skip
            for period in periods:
                runs: list[tuple[str, Callable[[], Report]]] = [
                    ("disclosure-annual", partial(build.disclosure_annual, conn, period, as_of)),
                    ("petitions", partial(build.petition_statistics, conn, period, as_of, "month")),
                    ("service-centre", partial(build.service_centre_figures, conn, period, as_of, calendar, legal)),
                ]  # fmt: skip
                for kind, make in runs:
                    seconds, report = timed(make, args.repeat)
                    h.say(f"{kind:18} {period.label:22} {seconds:7.2f} s  ({len(report.rows)} rows, median of "
                          f"{args.repeat}, over {n:,} events)")  # fmt: skip
        finally:
            conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
