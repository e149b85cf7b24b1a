"""Helpers for the operations tests: run ``casetrack`` as a real process, scrape and parse /metrics."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from app.settings import Settings
from bench import harness

CASETRACK = [sys.executable, "-m", "casetrack.cli"]
ROOT = Path(__file__).resolve().parents[2]


def cli_env(settings: Settings, **extra: object) -> dict[str, str]:
    """The environment that makes a ``casetrack`` process use these test settings."""
    return harness.cli_env(settings, {k: str(v) for k, v in extra.items()})


def run_cli(
    settings: Settings, args: Sequence[str], timeout: float = 120, **extra: object
) -> subprocess.CompletedProcess[str]:
    return run_env(cli_env(settings, **extra), args, timeout)


def run_env(
    env: dict[str, str], args: Sequence[str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``casetrack ARGS`` in this checkout with exactly ``env``; output captured as text."""
    return subprocess.run(
        [*CASETRACK, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def start_cli(settings: Settings, args: Sequence[str], log: Path, **extra: object) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [*CASETRACK, *args],
            env=cli_env(settings, **extra),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass  # not listening yet
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_metrics(text: str) -> Samples:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        v
        for (n, ls), v in samples.items()
        if n == name and all(dict(ls).get(k) == want for k, want in labels.items())
    )
