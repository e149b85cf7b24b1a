"""Shared fixtures: a real Kafka-protocol broker (Tansu) and a real PostgreSQL, started once per session.

Tests never share state: each gets its own database (built with ``alembic upgrade head``) and its own
randomly named topics. Nothing here mocks Kafka or psycopg2.
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
from pydantic import SecretStr

from casetrack.bootstrap import Endpoints, ensure_topics, migrate
from casetrack.embedded import start_broker, start_postgres, stop_postgres, with_database
from casetrack.settings import ConsumerTuning, Settings, Topics


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a Tansu broker for the whole session."""
    external = os.environ.get("CASETRACK_TEST_KAFKA")
    if external:
        yield external
        return
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    proc, bootstrap = start_broker(log)
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
def settings_factory(broker: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: random topics (created), the session broker, a given database."""

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
        return s

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], database_url: str) -> Settings:
    return settings_factory(database_url)


def endpoints(s: Settings) -> Endpoints:
    assert s.kafka_bootstrap and s.database_url
    return Endpoints(s.kafka_bootstrap, s.database_url, False)
