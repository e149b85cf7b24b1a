"""The advice casetrack prints after broker data loss works when followed literally (issue 15, point 3), and
the embedded stack keeps everything under its data directory (point 7).

The embedded broker keeps topics in memory, so ``casetrack down`` / ``up`` is a real broker data loss: the stored
positions are ahead of the new, empty topics. ``consume`` must stop with exit 3 and print one command; running
exactly that command (taken from the output) must bring the stack back: ``consume`` then exits 0, the tables
are as before, and events the broker receives again are counted once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.embedded import EmbeddedStack
from tests.factories import case_stream
from tests.integration.helpers import query
from tests.integration.ops_support import ROOT
from tests.integration.test_cli_stack import casetrack, ok, printed_addresses, stack_env


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp dirs: as root, the embedded PostgreSQL runs as a system user that must reach the
    # folder, and a concurrent pytest session makes /tmp/pytest-of-<user> private again.
    base = Path(tempfile.mkdtemp(prefix="casetrack-advice-"))
    base.chmod(0o755)
    try:
        yield base / "casetrack"
    finally:
        EmbeddedStack(base / "casetrack").down()
        shutil.rmtree(base, ignore_errors=True)


def case_rows(url: str) -> list[tuple[object, ...]]:
    return query(url, "SELECT case_id, status, department, reopen_count FROM case_status ORDER BY case_id")


def test_the_printed_advice_after_broker_data_loss_brings_the_stack_back(
    data_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home_s = str(home)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e.wire(), ensure_ascii=False) + "\n" for e in case_stream(12)))
    n = len(events.read_text().splitlines())

    ok(casetrack(data_dir, ["migrate"], HOME=home_s))
    assert f"sent {n:,} events" in ok(casetrack(data_dir, ["produce", str(events)], HOME=home_s))
    assert f"consumed {n:,} records" in ok(casetrack(data_dir, ["consume", "--until-caught-up"], HOME=home_s))
    _, url = printed_addresses(ok(casetrack(data_dir, ["up"], HOME=home_s)))
    before = case_rows(url)
    assert len(before) == 12

    # The broker loses everything (in memory only); PostgreSQL keeps the projections and the event store.
    ok(casetrack(data_dir, ["down"], HOME=home_s))
    ok(casetrack(data_dir, ["up"], HOME=home_s))
    lost = casetrack(data_dir, ["consume", "--until-caught-up"], HOME=home_s)
    assert lost.returncode == 3, lost.stdout + lost.stderr
    assert "stored positions are ahead of the broker" in lost.stderr
    (advice,) = re.findall(r"^  (casetrack .+)$", lost.stderr, re.MULTILINE)

    # Follow it literally, as an operator types it into a shell with the virtual environment active.
    shell_env = stack_env(data_dir, HOME=home_s)
    shell_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{shell_env.get('PATH', '')}"
    followed = subprocess.run(
        ["bash", "-c", advice], env=shell_env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert "generation" in followed.stdout and "is live" in followed.stdout

    # The stack is back: consume exits 0, the tables are unchanged.
    again = ok(casetrack(data_dir, ["consume", "--until-caught-up"], HOME=home_s))
    assert "consumed 0 records" in again
    assert case_rows(url) == before

    # Upstream re-publishes what the broker lost: every event is a duplicate, nothing changes.
    ok(casetrack(data_dir, ["produce", str(events)], HOME=home_s))
    again = ok(casetrack(data_dir, ["consume", "--until-caught-up"], HOME=home_s))
    assert f"consumed {n:,} records" in again and "0 applied" in again and f"{n:,} duplicates" in again
    assert case_rows(url) == before

    # The broker's binary ran from its package: nothing was copied into the home folder.
    assert list(home.iterdir()) == []


def test_replay_from_the_event_store_refuses_a_silent_mismatch(data_dir: Path, tmp_path: Path) -> None:
    """Without --accept-broker-loss, the event-store replay does not leave positions the broker contradicts
    (before, it succeeded and `consume` still exited 3); the message names the option."""
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e.wire(), ensure_ascii=False) + "\n" for e in case_stream(3)))
    ok(casetrack(data_dir, ["migrate"]))
    ok(casetrack(data_dir, ["produce", str(events)]))
    ok(casetrack(data_dir, ["consume", "--until-caught-up"]))
    ok(casetrack(data_dir, ["down"]))
    ok(casetrack(data_dir, ["up"]))
    refused = casetrack(data_dir, ["replay", "--from", "event-store"])
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "do not match the broker" in refused.stderr and "--accept-broker-loss" in refused.stderr
