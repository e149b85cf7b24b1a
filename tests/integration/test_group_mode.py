"""Scale-out: two `casetrack consume --group` processes share the partitions and give the single-process tables."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from app.settings import Settings
from tests.factories import case_stream
from tests.integration.helpers import consume, publish, table_diff


def cli_env(s: Settings) -> dict[str, str]:
    assert s.kafka_bootstrap and s.database_url and s.pseudonym_key
    return {
        **os.environ,
        "CASETRACK_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "CASETRACK_DATABASE_URL": s.database_url,
        "CASETRACK_TOPICS__CASE": s.topics.case,
        "CASETRACK_TOPICS__SUPERVISION": s.topics.supervision,
        "CASETRACK_TOPICS__RECTIFICATION": s.topics.rectification,
        "CASETRACK_PSEUDONYM_KEY": s.pseudonym_key.get_secret_value(),
        "CASETRACK_CONSUMER__GROUP_ID": f"g-{s.topics.case}",
        "CASETRACK_CONSUMER__MAX_POLL_INTERVAL_MS": "3000",
        "CASETRACK_CONSUMER__MAX_BATCH_RECORDS": "300",
    }


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """The member's output; a member still running after ``timeout`` is killed and its log shown, so a hang fails
    this test alone instead of leaking a process (and its pipes) into the next ones."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        raise AssertionError(f"a group member did not finish in {timeout}s:\n{err[-4000:]}") from None


def finish_all(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[str, str]]:
    """Every member's output; whichever fails, no member is left running (its open pipes would fail later tests
    on ResourceWarnings)."""
    try:
        return [finish(p, timeout) for p in procs]
    finally:
        for p in procs:
            if p.returncode is None:  # not waited for: an earlier member failed
                p.kill()
                p.communicate()


def test_two_group_members_match_a_single_consumer(
    settings_factory: Callable[..., Settings], database_factory: Callable[[], str]
) -> None:
    events = case_stream(300, seed=21)
    single = settings_factory(database_factory())
    grouped = settings_factory(database_factory())
    publish(single, events)
    publish(grouped, events)
    consume(single)
    cmd = [sys.executable, "-m", "casetrack.cli", "consume", "--group", "--until-caught-up"]
    procs = [
        subprocess.Popen(cmd, env=cli_env(grouped), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = finish_all(procs, timeout=120)
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
    assert table_diff(single.database_url or "", grouped.database_url or "") == []
