"""What the fault tests share: the workload with its ground truth, the real ``casetrack consume`` as a subprocess,
spotting a consumer in the middle of a batch, and the checks (atomic prefix, accounting, equal to a clean run).

The ground truth comes from :mod:`producers.generator`: each message's ``kind`` (valid, duplicate, malformed)
and where the broker put it (partition, offset). The checks compare the database with it exactly.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from app.bootstrap import build_projections
from app.settings import Settings
from bench.harness import CASETRACK, REPO, Published, cli_env, publish, query
from producers.generator import MALFORMED_REASONS, GeneratorConfig, generate

# A sealed petitioner differs from run to run (random nonces); the pseudonyms, compared through the views, do not.
# Co-petitioners (several on one case) likewise: only their pseudonyms are compared.
INTERNAL_EVENT_COLS = (
    "event_id, aggregate, subject, type, time, schemaversion, source, topic, partition,"
    " CASE WHEN data ?| array['petitioner', 'co_petitioners'] THEN (data - 'petitioner' - 'co_petitioners')"
    " || jsonb_build_object('co_persons', (SELECT jsonb_agg(c -> 'person')"
    " FROM jsonb_array_elements(data -> 'co_petitioners') c)) ELSE data END"
)
INTERNAL_LETTER_COLS = 'topic, partition, "offset", reason, event_id, event_type'

#: table name -> its rows, ordered (what assert_same_tables compares)
Snapshot = dict[str, list[tuple[Any, ...]]]


def workload(settings: Settings, events: int, seed: int = 7, **overrides: Any) -> Published:
    """Publish ``events`` generator messages (all three topics) and remember where each one landed."""
    return publish(
        settings, generate(GeneratorConfig.for_event_count(events, seed=seed, **overrides)), track=True
    )


def published_in_two(
    settings: Settings, events: int, seed: int, first: float = 0.75
) -> Callable[[], Published]:
    """Publish the first part of a workload now; the returned call publishes the rest and gives the ground truth
    of both. Tests that need a member to take over partitions publish the rest after it left, so the hand-over
    is forced, not raced against how fast the consumers fold."""
    messages = list(generate(GeneratorConfig.for_event_count(events, seed=seed)))
    cut = int(len(messages) * first)
    before = publish(settings, messages[:cut], track=True)

    def rest() -> Published:
        after = publish(settings, messages[cut:], track=True)
        fams = families(settings)
        assert _partitions(after, fams) == _partitions(before, fams), "the rest must reach every partition"
        return combined(before, after)

    return rest


def combined(*parts: Published) -> Published:
    """The ground truth of several publications to the same topics."""
    return Published(
        total=sum(p.total for p in parts),
        by_kind=sum((p.by_kind for p in parts), start=Counter()),
        seconds=sum(p.seconds for p in parts),
        placed=[x for p in parts for x in p.placed],
    )


def _partitions(pub: Published, aggregates: set[str]) -> set[tuple[str, int]]:
    return {(m.aggregate, p) for m, p, _o in pub.placed if m.aggregate in aggregates}


def tracked(settings: Settings, pub: Published) -> int:
    """How many messages the consumer's stored positions must cover in the end (its topics only)."""
    fams = families(settings)
    return sum(pub.count(fams, k) for k in ("valid", "duplicate", "malformed"))


def families(settings: Settings) -> set[str]:
    """The aggregates the consumer folds (topics without a projection are not consumed)."""
    return set(build_projections(settings))


def topic_of(settings: Settings, aggregate: str) -> str:
    t = settings.topics
    return {"case": t.case, "supervision": t.supervision, "rectification": t.rectification}[aggregate]


# -- the consumer as a subprocess ---------------------------------------------------------------------
def start_consume(
    settings: Settings,
    log: Path,
    *args: str,
    env: dict[str, str] | None = None,
    until_caught_up: bool = True,
) -> subprocess.Popen[bytes]:
    """``casetrack consume [--until-caught-up] ARGS`` with these settings; output appended to ``log``."""
    argv = ["consume", *(["--until-caught-up"] if until_caught_up else []), *args]
    with open(log, "ab") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(
            [CASETRACK, *argv], env=cli_env(settings, env), stdout=fh, stderr=subprocess.STDOUT, cwd=REPO
        )


def database_name(url: str) -> str:
    from psycopg2.extensions import parse_dsn

    return str(parse_dsn(url)["dbname"])


def in_batch(url: str) -> bool:
    """A consumer connection holds an open transaction that has written already (mid-batch)."""
    rows = query(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'casetrack'"
        " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
        (database_name(url),),
    )
    return bool(rows[0][0])


def wait_in_batch(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> bool:
    """Poll until a batch transaction is open (True), or the process ended or time ran out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if in_batch(url):
            return True
        time.sleep(0.003)
    return False


def positions(url: str) -> dict[tuple[str, int], int]:
    return {
        (t, p): int(o)
        for t, p, o in query(url, "SELECT topic, partition, next_offset FROM casetrack.tracking")
    }


def consumed(url: str) -> int:
    return sum(positions(url).values())


def wait_consumed_more(url: str, than: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if consumed(url) > than:
            return True
        time.sleep(0.02)
    return False


def wait_all_consumed(
    url: str, n: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120
) -> None:
    """Wait until the stored positions cover ``n`` messages; fail at once if ``proc`` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while consumed(url) < n:
        assert proc.poll() is None, f"consume exited early:\n{output(log)}"
        assert time.monotonic() < deadline, f"consumed {consumed(url)} of {n}:\n{output(log)}"
        time.sleep(0.1)


def output(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


# -- checks ---------------------------------------------------------------------------------------------
def check_atomic_prefix(settings: Settings, url: str, pub: Published) -> None:
    """What the database holds is exactly what the stored positions cover: for every partition, the valid events
    and dead letters below its stored position, and nothing at or above it (no half-committed batch)."""
    fams = families(settings)
    pos = positions(url)
    want_events: dict[tuple[str, int], set[str]] = defaultdict(set)
    want_letters: dict[tuple[str, int], set[tuple[int, str]]] = defaultdict(set)
    for m, partition, offset in pub.placed:
        if m.aggregate not in fams:
            continue
        tp = (topic_of(settings, m.aggregate), partition)
        if offset >= pos.get(tp, 0):
            continue
        if m.kind == "valid":
            assert m.event_id is not None
            want_events[tp].add(m.event_id)
        elif m.kind == "malformed":
            assert m.defect is not None
            want_letters[tp].add((offset, MALFORMED_REASONS[m.defect]))
    got_events: dict[tuple[str, int], set[str]] = defaultdict(set)
    for t, p, eid in query(url, "SELECT topic, partition, event_id FROM casetrack.event_store"):
        got_events[(t, p)].add(eid)
    got_letters: dict[tuple[str, int], set[tuple[int, str]]] = defaultdict(set)
    for t, p, o, reason in query(
        url, 'SELECT topic, partition, "offset", reason FROM casetrack.dead_letters'
    ):
        got_letters[(t, p)].add((int(o), reason))
    for tp in set(want_events) | set(got_events):
        missing, extra = want_events[tp] - got_events[tp], got_events[tp] - want_events[tp]
        assert not missing and not extra, (
            f"{tp} at position {pos.get(tp)}: {len(missing)} event(s) missing, {len(extra)} beyond the position"
        )
    for tp in set(want_letters) | set(got_letters):
        assert want_letters[tp] == got_letters[tp], f"{tp}: dead letters differ from the ground truth"


def check_accounting(settings: Settings, url: str, pub: Published) -> dict[str, int]:
    """consumed = projected + duplicates + dead-lettered, each term equal to the generator's ground truth."""
    fams = families(settings)
    (row,) = query(
        url,
        "SELECT (SELECT coalesce(sum(next_offset), 0) FROM casetrack.tracking),"
        " (SELECT count(*) FROM casetrack.event_store), (SELECT count(*) FROM casetrack.dead_letters)",
    )
    got = {"consumed": int(row[0]), "projected": int(row[1]), "dead_lettered": int(row[2])}
    got["duplicates"] = got["consumed"] - got["projected"] - got["dead_lettered"]
    want = {
        "consumed": tracked(settings, pub),
        "projected": pub.count(fams, "valid"),
        "dead_lettered": pub.count(fams, "malformed"),
        "duplicates": pub.count(fams, "duplicate"),
    }
    assert got == want, f"accounting differs from the ground truth: got {got}, want {want}"
    return got


def _unsealed(value: Any) -> Any:
    # A sealed petitioner (AES-GCM) has a fresh nonce and ciphertext each time it is sealed; the rest of it
    # (the person's pseudonym, the algorithm) must be equal.
    if isinstance(value, dict) and "ct" in value and "nonce" in value:
        return {k: v for k, v in value.items() if k not in ("ct", "nonce")}
    return value


def _sortable(row: Sequence[Any]) -> tuple[tuple[bool, str], ...]:
    return tuple((v is None, repr(v)) for v in row)


def views(url: str) -> list[str]:
    return [
        r[0]
        for r in query(
            url, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1"
        )
    ]


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every analyst view in ``public`` (sorted rows), the event store and the dead letters (without the
    columns that record when or in which order rows were written)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name in views(url):
        rows = query(url, f'SELECT * FROM public."{name}"')  # noqa: S608 - names from the catalog, quoted
        out[name] = sorted((tuple(_unsealed(v) for v in r) for r in rows), key=_sortable)
    out["casetrack.event_store"] = sorted(
        query(url, f"SELECT {INTERNAL_EVENT_COLS} FROM casetrack.event_store"),  # noqa: S608 - constant columns
        key=_sortable,
    )
    out["casetrack.dead_letters"] = sorted(
        query(url, f"SELECT {INTERNAL_LETTER_COLS} FROM casetrack.dead_letters"),  # noqa: S608 - constant columns
        key=_sortable,
    )
    return out


def assert_same_tables(got: dict[str, list[tuple[Any, ...]]], want: dict[str, list[tuple[Any, ...]]]) -> None:
    assert sorted(got) == sorted(want), "different views"
    for name in want:
        assert len(got[name]) == len(want[name]), (
            f"{name}: {len(got[name])} rows, a clean run has {len(want[name])}"
        )
        diff = [(g, w) for g, w in zip(got[name], want[name], strict=True) if g != w]
        assert not diff, f"{name}: {len(diff)} row(s) differ from a clean run, e.g. {diff[0]}"
    assert any(want[name] for name in want if not name.startswith("casetrack.")), "nothing was projected"


def run_to_completion(
    settings: Settings, log: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[bytes]:
    proc = start_consume(settings, log, *args, env=env)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"consume did not finish in {timeout}s:\n{output(log)[-3000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, b"", b"")


def kinds(pub: Published, aggregates: Iterable[str]) -> dict[str, int]:
    return {k: pub.count(aggregates, k) for k in ("valid", "duplicate", "malformed")}
