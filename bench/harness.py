"""What every benchmark (and the fault tests) share: a broker + database, fresh databases and topics, publishing
the generator's workload with its ground truth, running ``casetrack`` as a subprocess while watching its memory.

Where ``CASETRACK_KAFKA_BOOTSTRAP`` and ``CASETRACK_DATABASE_URL`` are both set, those servers are used (each
measurement gets a new database ``bench_<id>`` on that server and new topics); otherwise an embedded broker and
an embedded PostgreSQL are started in a temporary folder and removed afterwards. The embedded broker is Tansu,
or with ``CASETRACK_BENCH_BROKER=kafka`` the pinned Apache Kafka (one KRaft node with the compose file's
settings, :mod:`app.apache_kafka`); ``bench/brokers.py`` runs the benchmarks on both in one run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from kafka import KafkaProducer
from pydantic import SecretStr

from app.apache_kafka import KafkaCluster, pinned_version, start_cluster
from app.bootstrap import ensure_topics, migrate
from app.embedded import start_broker, start_postgres, stop_postgres, with_database
from app.settings import ConsumerTuning, Settings
from events.topics import Topics
from producers.generator import Message

REPO = Path(__file__).resolve().parent.parent
CASETRACK = str(Path(sys.executable).with_name("casetrack"))
MB = 1024 * 1024
PSEUDONYM_KEY = "5e" * 32  # hex, 32 bytes; for benchmarks and tests only


def say(message: str) -> None:
    """Progress output: flushed at once, so a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- servers ----------------------------------------------------------------------------------------------
@dataclass
class Servers:
    """A broker and a PostgreSQL server; ``admin_url`` can create databases."""

    bootstrap: str
    admin_url: str
    embedded: bool
    base: Path | None = None
    broker: subprocess.Popen[bytes] | None = None
    kafka: KafkaCluster | None = None  # the embedded Apache Kafka, when that is the broker

    @property
    def pgdata(self) -> Path:
        assert self.base is not None, "only the embedded server has a data directory"
        return self.base / "pg"

    def fresh_database(self, label: str) -> str:
        """A new, migrated database on the server; returns its URL."""
        url = with_database(self.admin_url, f"bench_{label}_{uuid.uuid4().hex[:8]}")
        migrate(url)
        return url

    def restart_broker(self) -> None:
        """Stop the embedded broker and start a new one on the same port (Tansu loses every topic)."""
        assert self.broker is not None and self.base is not None, "only the embedded Tansu broker restarts"
        stop_process(self.broker)
        port = int(self.bootstrap.rsplit(":", 1)[1])
        self.broker, _ = start_broker(self.base / "broker.log", port)


def bench_broker() -> str:
    """The embedded broker of a benchmark: ``CASETRACK_BENCH_BROKER``, tansu (default) or kafka."""
    kind = os.environ.get("CASETRACK_BENCH_BROKER", "tansu").strip().lower() or "tansu"
    if kind not in ("tansu", "kafka"):
        raise SystemExit(f"CASETRACK_BENCH_BROKER={kind!r}: choose tansu or kafka")
    return kind


@contextmanager
def servers(log: Callable[[str], None] = say) -> Iterator[Servers]:
    """The configured servers, or an embedded broker + PostgreSQL in a temporary folder."""
    kafka, db = os.environ.get("CASETRACK_KAFKA_BOOTSTRAP"), os.environ.get("CASETRACK_DATABASE_URL")
    if kafka and db:
        log(f"using the configured servers (Kafka {kafka})")
        yield Servers(kafka, db, False)
        return
    if kafka or db:
        raise SystemExit("set both CASETRACK_KAFKA_BOOTSTRAP and CASETRACK_DATABASE_URL, or neither")
    # Not under a 0700 folder: as root, the embedded server runs as a system user that must reach it.
    base = Path(tempfile.mkdtemp(prefix="casetrack-bench-"))
    base.chmod(0o755)
    admin = start_postgres(base / "pg")
    kind = bench_broker()
    if kind == "kafka":
        cluster = start_cluster(base / "kafka", 1)
        s = Servers(cluster.bootstrap, admin, True, base, None, cluster)
        log(f"started Apache Kafka {pinned_version()} ({cluster.bootstrap}) and PostgreSQL in {base}")
    else:
        broker, bootstrap = start_broker(base / "broker.log")
        s = Servers(bootstrap, admin, True, base, broker)
        log(f"started an embedded Tansu broker ({bootstrap}) and PostgreSQL in {base}")
    try:
        yield s
    finally:
        if s.broker is not None:
            stop_process(s.broker)
        if s.kafka is not None:
            s.kafka.stop()
        stop_postgres(base / "pg")
        shutil.rmtree(base, ignore_errors=True)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def new_topics(label: str) -> Topics:
    uid = uuid.uuid4().hex[:8]
    return Topics(
        case=f"{label}-{uid}.case", supervision=f"{label}-{uid}.sup", rectification=f"{label}-{uid}.rect"
    )


def make_settings(
    bootstrap: str, database_url: str, topics: Topics, data_dir: Path, partitions: int = 4, **consumer: Any
) -> Settings:
    """Settings for one measurement; creates the topics (and their .dlq topics) where missing. The pseudonym key
    is fixed, so two databases fold a petitioner to the same pseudonym and their views can be compared."""
    s = Settings(
        pseudonym_key=SecretStr(PSEUDONYM_KEY),
        kafka_bootstrap=bootstrap,
        database_url=database_url,
        topics=topics,
        data_dir=data_dir,
        partitions=partitions,
        consumer=ConsumerTuning(**consumer),
    )
    ensure_topics(s, bootstrap)
    return s


def env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``--env NAME=VALUE`` arguments as a mapping (the value may hold ``=``)."""
    return dict(kv.split("=", 1) for kv in pairs)


def cli_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment under which ``casetrack`` sees exactly ``settings`` (plus ``extra``)."""
    assert settings.kafka_bootstrap and settings.database_url
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
    env.update(
        CASETRACK_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        CASETRACK_DATABASE_URL=settings.database_url,
        CASETRACK_DATA_DIR=str(settings.data_dir),
        CASETRACK_PARTITIONS=str(settings.partitions),
        CASETRACK_TOPICS__CASE=settings.topics.case,
        CASETRACK_TOPICS__SUPERVISION=settings.topics.supervision,
        CASETRACK_TOPICS__RECTIFICATION=settings.topics.rectification,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO),  # this checkout's code, even where another one is installed
    )
    for name in ("pseudonym_key", "key_encryption_key"):  # secrets a caller may have set
        secret = getattr(settings, name, None)
        if secret is not None:
            env[f"CASETRACK_{name.upper()}"] = secret.get_secret_value()
    for name, value in settings.consumer.model_dump().items():
        env[f"CASETRACK_CONSUMER__{name.upper()}"] = str(value)
    env.update(extra or {})
    return env


# -- publishing -------------------------------------------------------------------------------------------
@dataclass
class Published:
    """Ground truth of what was published. ``placed`` (when tracked) is each message's partition and offset."""

    total: int = 0
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)  # (aggregate, kind)
    seconds: float = 0.0
    placed: list[tuple[Message, int, int]] = field(default_factory=list)

    def count(self, aggregates: Iterable[str], kind: str) -> int:
        return sum(self.by_kind[(a, kind)] for a in aggregates)


def producer(bootstrap: str) -> KafkaProducer:
    """The producer options of :class:`producers.sdk.EventProducer` (idempotent, acks=all, gzip)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        compression_type="gzip",
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )


def publish(
    settings: Settings,
    messages: Iterable[Message],
    *,
    track: bool = False,
    expected: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Published:
    """Publish generator messages to the settings' topics, keyed as upstream systems key them."""
    assert settings.kafka_bootstrap
    t = settings.topics
    topic_of = {"case": t.case, "supervision": t.supervision, "rectification": t.rectification}
    out = Published()
    failures: list[BaseException] = []
    prod = producer(settings.kafka_bootstrap)
    futures: list[tuple[Message, Any]] = []
    t0 = time.monotonic()
    last = t0
    try:
        for m in messages:
            fut = prod.send(topic_of[m.aggregate], key=m.key, value=m.value, headers=list(m.headers))
            fut.add_errback(failures.append)
            if track:
                futures.append((m, fut))
            out.total += 1
            out.by_kind[(m.aggregate, m.kind)] += 1
            if log and time.monotonic() - last >= 5:
                last = time.monotonic()
                of = f" of {expected:,}" if expected else ""
                log(f"  published {out.total:,}{of} ({out.total / (last - t0):,.0f}/s)")
        prod.flush()
    finally:
        prod.close(timeout=30)
    out.seconds = time.monotonic() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} message(s) were not delivered: {failures[0]!r}")
    for m, fut in futures:
        md = fut.get(timeout=30)
        out.placed.append((m, md.partition, md.offset))
    return out


# -- the database -----------------------------------------------------------------------------------------
def query(url: str, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())
    finally:
        conn.close()


def consumed(url: str) -> int:
    """Records consumed so far: the sum of the stored positions (topics start at offset 0)."""
    return int(query(url, "SELECT coalesce(sum(next_offset), 0) FROM casetrack.tracking")[0][0])


@dataclass(frozen=True)
class Accounting:
    consumed: int
    projected: int  # events in the event store
    dead_lettered: int

    @property
    def duplicates(self) -> int:
        return self.consumed - self.projected - self.dead_lettered


def accounting(url: str) -> Accounting:
    (row,) = query(
        url,
        "SELECT (SELECT coalesce(sum(next_offset), 0) FROM casetrack.tracking),"
        " (SELECT count(*) FROM casetrack.event_store), (SELECT count(*) FROM casetrack.dead_letters)",
    )
    return Accounting(int(row[0]), int(row[1]), int(row[2]))


# -- comparing projections --------------------------------------------------------------------------------
#: officer-only view of sealed petitioners: the ciphertext has a fresh nonce each time it is sealed
UNCOMPARABLE_VIEWS = ("case_petitioners",)


def view_digests(url: str) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the sorted rows) of every view in ``public``, to compare two databases cheaply."""
    from psycopg2 import sql

    out: dict[str, tuple[int, str]] = {}
    views = query(
        url, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1"
    )
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            for (name,) in views:
                if name in UNCOMPARABLE_VIEWS:
                    continue
                cur.execute(
                    sql.SQL(
                        "SELECT count(*), coalesce(md5(string_agg(v::text, '|' ORDER BY v::text)), '')"
                        " FROM public.{} v"
                    ).format(sql.Identifier(name))  # fmt: skip
                )
                n, digest = cur.fetchone() or (0, "")
                out[name] = (int(n), str(digest))
    finally:
        conn.close()
    return out
