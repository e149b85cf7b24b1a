"""Replay: rebuild every projection from the full history, from Kafka and from the event store.

    python -m bench.replay                        # 1,000,000 messages
    python -m bench.replay --events 200000 --consume-arg=--workers --consume-arg=2

Publishes the workload, consumes it (``casetrack consume --until-caught-up``), records a digest of every view,
then times ``casetrack replay --projection all --from kafka`` and ``--from event-store`` (subprocesses, the real
CLI) and checks that each rebuild swapped in views identical to the consumed ones.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import harness as h
from bench import monitor as m
from producers.generator import GeneratorConfig, generate

TARGET_SECONDS = 60.0
# issue 20: Kafka within 1.3x of the event store in the same run; the event store twice as fast as the issue's
# 38.4 s for 1,000,000 events (`--workers 2`) at its yardstick of 3.68 us, scaled to this run's yardstick
KAFKA_OVER_STORE = 1.3
STORE_BEFORE_SECONDS, STORE_BEFORE_YARDSTICK, STORE_BEFORE_EVENTS = 38.4, 3.68, 1_000_000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument(
        "--consume-arg", action="append", default=[], help="extra argument for the initial consume"
    )
    p.add_argument("--replay-arg", action="append", default=[], help="extra argument for `casetrack replay`")
    p.add_argument("--sources", default="kafka,event-store")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = p.parse_args(argv)
    extra = h.env_pairs(args.env)

    h.say(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    work = Path(tempfile.mkdtemp(prefix="casetrack-replay-"))
    results: list[tuple[str, m.Run, bool]] = []
    with h.servers() as srv:
        url = srv.fresh_database("replay")
        settings = h.make_settings(srv.bootstrap, url, h.new_topics("rp"), work / "data")
        env = h.cli_env(settings, extra)
        h.say(f"publishing {args.events:,} messages ...")
        pub = h.publish(settings, generate(GeneratorConfig.for_event_count(args.events, seed=args.seed)),
                        expected=args.events, log=h.say)  # fmt: skip
        h.say("consuming them once (the live generation) ...")
        first = m.run_cli(["consume", "--until-caught-up", *args.consume_arg], env, url, work / "consume.log",
                          total=pub.total)  # fmt: skip
        if first.returncode != 0:
            h.say(f"consume failed:\n{first.output[-3000:]}")
            return 1
        h.say(f"consumed in {first.seconds:.1f}s; taking view digests ...")
        live = h.view_digests(url)
        for source in args.sources.split(","):
            cmd = ["replay", "--projection", "all", "--from", source, "--no-progress", *args.replay_arg]
            h.say(f"running `casetrack {' '.join(cmd)}` ...")
            run = m.run_cli(cmd, env, url, work / f"replay-{source}.log", label=f"replay {source}", progress_every=10,
                            log=None)  # fmt: skip
            if run.returncode != 0:
                h.say(f"replay --from {source} failed (exit {run.returncode}):\n{run.output[-3000:]}")
                results.append((source, run, False))
                continue
            same = h.view_digests(url) == live
            h.say(f"replay --from {source}: {run.seconds:.1f}s, views {'identical' if same else 'DIFFERENT'}; "
                  f"{m.last_line(run.output)}")  # fmt: skip
            results.append((source, run, same))
    print()
    print(f"== replay: {pub.total:,} messages, every projection ==")
    print(f"  initial consume: {first.seconds:.1f}s ({pub.total / first.seconds:,.0f}/s)")
    for source, run, same in results:
        verdict = "met" if run.returncode == 0 and run.seconds <= TARGET_SECONDS else "MISSED"
        print(f"  --from {source:<12} {run.seconds:6.1f}s  peak RSS {run.peak_mb:.0f} MB  views identical: {same}"
              f"  target <= {TARGET_SECONDS:.0f}s: {verdict}")  # fmt: skip
    _issue20(results, pub.total, m.cpu_speed())
    return 0 if all(ok for _, _, ok in results) else 1


def _issue20(results: list[tuple[str, m.Run, bool]], events: int, yardstick: float) -> None:
    """Issue 20's replay targets as ratios: Kafka over the event store, the event store against its 'before'."""
    took = {source: run.seconds for source, run, ok in results if ok}
    print(f"  issue 20, cpu yardstick at the end {yardstick:.2f} us:")
    if "kafka" in took and "event-store" in took:
        ratio = took["kafka"] / took["event-store"]
        verdict = "met" if ratio <= KAFKA_OVER_STORE else "MISSED"
        print(f"  target Kafka / event store: {verdict} ({ratio:.2f}x vs <= {KAFKA_OVER_STORE}x)")
    if "event-store" in took:
        before = STORE_BEFORE_SECONDS * (yardstick / STORE_BEFORE_YARDSTICK) * (events / STORE_BEFORE_EVENTS)
        speedup = before / took["event-store"]
        verdict = "met" if speedup >= 2.0 else "MISSED"
        print(
            f"  target event store twice as fast: {verdict} ({speedup:.2f}x vs >= 2x; before scaled to this"
            f" yardstick and size: {before:.1f}s; compare with `--replay-arg=--workers --replay-arg=2`)"
        )


if __name__ == "__main__":
    sys.exit(main())
