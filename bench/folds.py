"""The pure folds alone, in memory: microseconds per event for each projection (no Kafka, no PostgreSQL).

    python -m bench.folds                 # 200,000 events of the realistic workload
    python -m bench.folds --events 50000

A yardstick for the in-process share of the consumer's cost (see docs/benchmarks.md, "where the time goes"):
the workload generator's valid events, grouped by aggregate and folded in (time, id) order with each
projection's ``apply_all``, then each state turned into its row once (deadlines included for cases).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import defaultdict

from app.bootstrap import build_projections
from app.settings import Settings
from bench import monitor as m
from events.catalog import Event
from events.codec import Codec, Record
from producers.generator import GeneratorConfig, generate
from projections.base import apply_all


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=20261101)
    args = p.parse_args(argv)
    print(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    codec = Codec()
    by_family: dict[str, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for message in generate(GeneratorConfig.for_event_count(args.events, seed=args.seed)):
        if message.kind != "valid":
            continue
        event = codec.decode(Record("bench", 0, 0, message.key, message.value, message.headers, None))
        by_family[event.aggregate][event.subject].append(event)
    projections = build_projections(Settings())
    now = dt.datetime.now(dt.UTC)
    print(f"{sum(len(v) for s in by_family.values() for v in s.values()):,} valid events")
    for family, subjects in sorted(by_family.items()):
        proj = projections[family]
        events = sum(len(v) for v in subjects.values())
        for v in subjects.values():
            v.sort(key=lambda e: e.sort_key)
        t0 = time.perf_counter()
        states = [apply_all(proj, proj.initial(s), v) for s, v in subjects.items()]
        t1 = time.perf_counter()
        for state in states:
            proj.row(state, now)
        t2 = time.perf_counter()
        print(
            f"  {family:14s} {events:>9,} events {len(states):>8,} aggregates: fold {(t1 - t0) / events * 1e6:5.2f}"
            f" us/event, row {(t2 - t1) / len(states) * 1e6:5.2f} us/aggregate"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
