"""Shared fixtures: a real Kafka-protocol broker and a real PostgreSQL, started once per session.

The broker is chosen with one setting, ``CASETRACK_TEST_BROKER``: ``tansu`` (the default: Tansu from pip, in
memory) or ``kafka`` (the pinned Apache Kafka, fetched through Maven, one KRaft node with its log on disk; needs
Java). ``CASETRACK_TEST_KAFKA=host:port`` uses an existing cluster instead of either (see docs/development.md).
Every test that uses the broker is marked ``broker`` (``pytest -m broker`` runs just those), so CI runs the
whole suite on Tansu and the broker-facing part again on Apache Kafka.

Tests never share state: each gets its own database (built with ``alembic upgrade head``) and its own
randomly named topics (deleted afterwards). Nothing here mocks Kafka or psycopg2.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaAdminClient
from pydantic import SecretStr

from app.apache_kafka import start_cluster
from app.bootstrap import Endpoints, ensure_topics, migrate
from app.embedded import start_broker, start_postgres, stop_postgres, with_database
from app.settings import ConsumerTuning, Settings
from events.topics import Topics

BROKERS = ("tansu", "kafka")
#: The only change the test broker makes to the compose file's settings: a consumer group's first member is
#: not held 3 s waiting for others (many tests start a group; production keeps the delay).
TEST_BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0"}


def broker_kind() -> str:
    """``tansu``, ``kafka`` or ``external`` (``CASETRACK_TEST_KAFKA``): which broker this session runs on."""
    if os.environ.get("CASETRACK_TEST_KAFKA"):
        return "external"
    kind = os.environ.get("CASETRACK_TEST_BROKER", "tansu").strip().lower() or "tansu"
    if kind not in BROKERS:
        raise pytest.UsageError(f"CASETRACK_TEST_BROKER={kind!r}: choose one of {', '.join(BROKERS)}")
    return kind


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "broker: uses the session broker (set by tests/conftest.py)")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects on the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reaches the session broker (directly or through a fixture) ``broker``."""
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)


def pytest_report_header() -> str:
    return f"casetrack test broker: {broker_kind()}"


def tansu_only(reason: str) -> pytest.MarkDecorator:
    """Skip on Apache Kafka: the test is about Tansu itself (its memory-only log), said in ``reason``."""
    return pytest.mark.skipif(broker_kind() != "tansu", reason=f"Tansu-only: {reason}")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of the session's broker (``CASETRACK_TEST_BROKER``, see the module docstring)."""
    kind = broker_kind()
    if kind == "external":
        yield os.environ["CASETRACK_TEST_KAFKA"]
    elif kind == "kafka":
        cluster = start_cluster(tmp_path_factory.mktemp("apache-kafka"), 1, overrides=TEST_BROKER_OVERRIDES)
        yield cluster.bootstrap
        cluster.stop()
    else:
        proc, bootstrap = start_broker(tmp_path_factory.mktemp("broker") / "broker.log")
        yield bootstrap
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """Admin URL of an embedded PostgreSQL server for the whole session."""
    external = os.environ.get("CASETRACK_TEST_PG")
    if external:
        yield external
        return
    # Not under pytest's 0700 tmp dirs: as root, the server runs as a system user that must reach the folder.
    base = Path(tempfile.mkdtemp(prefix="casetrack-test-pg-"))
    base.chmod(0o755)
    pgdata = base / "data"
    url = start_postgres(pgdata)
    yield url
    stop_postgres(pgdata)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database_factory(pg_admin: str) -> Iterator[Callable[[], str]]:
    """Makes fresh databases migrated to head; drops them after the test."""
    made: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        made.append(name)
        url = with_database(pg_admin, name)
        migrate(url)
        return url

    yield make
    conn = psycopg2.connect(pg_admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in made:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def database_url(database_factory: Callable[[], str]) -> str:
    return database_factory()


def random_topics() -> Topics:
    uid = uuid.uuid4().hex[:10]
    return Topics(case=f"case-{uid}", supervision=f"sup-{uid}", rectification=f"rect-{uid}")


@pytest.fixture
def settings_factory(broker: str, tmp_path: Path) -> Iterator[Callable[..., Settings]]:
    """Settings for a test: random topics (created, and deleted after the test), the session broker, a given
    database. Deleting them keeps a long session's broker small (Apache Kafka keeps every partition on disk)."""
    made: list[str] = []

    def make(database_url: str, topics: Topics | None = None, **consumer: object) -> Settings:
        s = Settings(
            kafka_bootstrap=broker,
            database_url=database_url,
            data_dir=tmp_path / "data",
            topics=topics or random_topics(),
            consumer=ConsumerTuning.model_validate(consumer),
            partitions=4,
            # One key for every test database, so runs in different databases yield the same pseudonyms.
            pseudonym_key=SecretStr("5d6f3c1e9a7b2d4c8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d"),
        )
        ensure_topics(s, broker)
        made.extend(t for topic in s.topics.all() for t in (topic, Topics.dlq(topic)))
        return s

    yield make
    _delete_topics(broker, made)


def _delete_topics(bootstrap: str, topics: list[str]) -> None:
    if not topics:
        return
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        existing = set(admin.list_topics())
        gone = sorted(existing.intersection(topics))
        if gone:
            admin.delete_topics(gone)
    finally:
        admin.close()


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], database_url: str) -> Settings:
    return settings_factory(database_url)


def endpoints(s: Settings) -> Endpoints:
    assert s.kafka_bootstrap and s.database_url
    return Endpoints(s.kafka_bootstrap, s.database_url, False)
