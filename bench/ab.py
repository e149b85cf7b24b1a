"""Paired A/B of two checkouts' consumers on the same published messages: wall time and the consumer's CPU time.

    git worktree add /tmp/base <commit>                       # the "before" checkout
    python -m bench.ab --base /tmp/base --events 50000 --rounds 4
    python -m bench.ab --base . --base-env CASETRACK_CONSUMER__STATE_CACHE_SIZE=20000   # a setting, same code

The workload is published once (this checkout's generator); then each round runs ``casetrack consume
--until-caught-up`` of both checkouts, each on a fresh database, alternating which goes first. On a machine
whose speed drifts (shared cores), the paired ratio is steadier than two separate ``bench.throughput`` runs,
and the consumer's CPU time (user + system, from ``getrusage``) steadier than its wall time. PostgreSQL's own
CPU is not in it: the wall time is what includes it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.settings import Settings
from bench import harness as h
from bench import monitor as m
from producers.generator import GeneratorConfig, generate


def consume(
    repo: str, settings: Settings, url: str, extra: dict[str, str]
) -> tuple[float, float, int, float]:
    """(wall seconds, consumer CPU seconds, records consumed, peak RSS MB) of one ``casetrack consume`` of
    checkout ``repo``. CPU from ``os.wait4`` (that child's own usage); the peak RSS from ``/proc`` (VmHWM), as
    ``wait4``'s ``ru_maxrss`` of a forked child starts from this (large) parent's RSS."""
    env = h.cli_env(settings.model_copy(update={"database_url": url}), {"PYTHONPATH": repo, **extra})
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "casetrack.cli", "consume", "--until-caught-up"],
            env=env,
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        watch = m.MemoryWatch(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        watch.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(
                f"the consumer of {repo} failed:\n{err.read()[-3000:].decode(errors='replace')}"
            )
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, h.consumed(url), watch.peak_mb


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="the other checkout (the 'before')")
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment (this)"
    )
    p.add_argument("--base-env", action="append", default=[], metavar="NAME=VALUE", help="... (the base)")
    args = p.parse_args(argv)
    sides = {"base": str(Path(args.base).resolve()), "this": str(h.REPO)}
    extra = {"base": h.env_pairs(args.base_env), "this": h.env_pairs(args.env)}
    print(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    figures: dict[str, list[tuple[float, float, float]]] = {side: [] for side in sides}
    ratios: list[float] = []
    with h.servers() as srv:
        settings = h.make_settings(
            srv.bootstrap, srv.fresh_database("ab"), h.new_topics("ab"), Path(tempfile.mkdtemp()) / "data", 4
        )
        h.publish(settings, generate(GeneratorConfig.for_event_count(args.events, seed=args.seed)), log=h.say)
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            walls: dict[str, float] = {}
            for side in order:
                url = srv.fresh_database(f"ab_{side}_{r}")
                wall, cpu, n, rss = consume(sides[side], settings, url, extra[side])
                figures[side].append((wall, cpu, rss))
                walls[side] = wall
                h.say(f"round {r} {side}: {n:,} records, wall {wall:.1f} s, consumer CPU {cpu:.1f} s, peak RSS"
                      f" {rss:.0f} MB")  # fmt: skip
            ratios.append(walls["base"] / walls["this"])
    for side, runs in figures.items():
        print(
            f"{side}: median wall {statistics.median(w for w, _, _ in runs):.1f} s,"
            f" median consumer CPU {statistics.median(c for _, c, _ in runs):.2f} s,"
            f" largest peak RSS {max(r for _, _, r in runs):.0f} MB"
        )
    cpu_ratio = statistics.median(c for _, c, _ in figures["this"]) / statistics.median(
        c for _, c, _ in figures["base"]
    )
    print(f"throughput this/base per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"median throughput ratio {statistics.median(ratios):.3f}; consumer CPU ratio {cpu_ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
