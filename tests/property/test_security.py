"""Security: no personal data in logs, metrics or analyst views, and the roles give only what they should.

The workload's petitioners (names, mobile numbers, resident ID numbers) are the needles; the haystacks are
every log record of an in-process run at DEBUG, the output of ``casetrack consume`` at DEBUG, the ``/metrics``
exposition (consumer metrics plus the domain collector of ``casetrack serve``), and every row the analyst role
can read.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from psycopg2 import sql
from psycopg2.extensions import make_dsn, parse_dsn

from app.bootstrap import build_calendar
from app.settings import Settings
from bench.harness import publish
from ops.domain_metrics import DomainMetrics
from producers.generator import GeneratorConfig, Message, generate
from tests.faults.support import output, run_to_completion
from tests.integration.helpers import consume, query
from tests.integration.ops_support import run_cli

CONTRACT_VIEWS = (
    "case_status",
    "completion_rates",
    "petition_tallies",
    "supervision_orders",
    "rectification_items",
)
# Every view the analysts' role may read: the contract's, and the ones casetrack adds (README).
ANALYST_VIEWS = frozenset(
    {
        *CONTRACT_VIEWS,
        "department_scorecard",
        "repeat_callers",
        "case_cycles",
        "penalty_items",
        "published_reports",
        "completion_rates_by_role",  # migration 0014
        "supervision_departments",  # migration 0015
    }
)


def personal_data(messages: list[Message]) -> set[str]:
    """Every petitioner name, phone and ID number in the messages (valid or not). Names that the workload also
    uses for officials acting in their role (``responsible_person``, ``verifier``, ...) are left out: those are
    not personal data under the contract and appear in the views by design."""
    found: set[str] = set()
    official: set[str] = set()
    for m in messages:
        try:
            body = json.loads(m.value or b"")
        except ValueError:
            continue
        data = body.get("data", body) if isinstance(body, dict) else None
        if not isinstance(data, dict):
            continue
        petitioner = data.get("petitioner")
        if isinstance(petitioner, dict):
            found |= {
                v for k, v in petitioner.items() if k in ("name", "phone", "id_number") and isinstance(v, str)
            }
        official |= {v for k, v in data.items() if k != "petitioner" and isinstance(v, str)}
    return {v for v in found - official if len(v) >= 2}


@pytest.fixture
def stream(settings: Settings) -> tuple[Settings, list[Message], set[str]]:
    messages = list(generate(GeneratorConfig.for_event_count(3000, seed=29, malformed_fraction=0.02)))
    pii = personal_data(messages)
    assert len(pii) > 100, "the workload should carry personal data"
    publish(settings, messages)
    return settings, messages, pii


def leaks(text: str, pii: set[str]) -> list[str]:
    return sorted(v for v in pii if v in text)[:5]


def leaks_in_rows(rows: list[tuple[object, ...]], pii: set[str]) -> list[str]:
    """Exact cells for names (a two-character name is often part of an official's longer one); any occurrence for
    numbers (phones, ID numbers)."""
    cells = {str(c) for r in rows for c in r if c is not None}
    numbers = {v for v in pii if v.isdigit() or v[:-1].isdigit()}
    text = "\n".join(cells)
    return sorted({v for v in pii - numbers if v in cells} | {v for v in numbers if v in text})[:5]


def test_logs_and_metrics_carry_no_personal_data(
    stream: tuple[Settings, list[Message], set[str]], caplog: pytest.LogCaptureFixture
) -> None:
    settings, _, pii = stream
    caplog.set_level(logging.DEBUG)
    logging.getLogger("kafka").setLevel(logging.INFO)
    registry = CollectorRegistry()
    totals = consume(settings, registry)
    assert totals.applied > 0 and totals.dead_letters > 0
    assert settings.database_url
    domain = DomainMetrics(
        settings.database_url, build_calendar(settings), topics=settings.topics, cache_seconds=0
    )
    registry.register(domain)
    try:
        exposition = generate_latest(registry).decode()
    finally:
        domain.close() if hasattr(domain, "close") else None
    assert "casetrack_events_applied" in exposition
    assert not leaks(caplog.text, pii), f"personal data in the logs: {leaks(caplog.text, pii)}"
    assert not leaks(exposition, pii), f"personal data in /metrics: {leaks(exposition, pii)}"


def test_consume_output_at_debug_carries_no_personal_data(
    stream: tuple[Settings, list[Message], set[str]], tmp_path: Path
) -> None:
    settings, _, pii = stream
    log = tmp_path / "consume.log"
    assert run_to_completion(settings, log, env={"CASETRACK_LOG_LEVEL": "DEBUG"}).returncode == 0, output(log)
    text = output(log)
    assert "consumed" in text
    assert not leaks(text, pii), f"personal data in the consumer's output: {leaks(text, pii)}"


def _as_role(url: str, role: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url)
    conn.autocommit = True  # SET ROLE for the session: a failed statement must not roll it back
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    return conn


def test_the_analyst_reads_the_projections_and_nothing_else(
    stream: tuple[Settings, list[Message], set[str]],
) -> None:
    settings, _, pii = stream
    url = settings.database_url or ""
    consume(settings)
    views = [
        v
        for (v,) in query(
            url, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
        )
    ]
    tables = [t for (t,) in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'casetrack'")]
    conn = _as_role(url, "casetrack_analyst")
    try:
        readable = []
        for v in views:
            with conn.cursor() as cur:
                try:
                    cur.execute(sql.SQL("SELECT * FROM public.{}").format(sql.Identifier(v)))
                except psycopg2.errors.InsufficientPrivilege:
                    continue
                rows = cur.fetchall()
                assert not leaks_in_rows(rows, pii), f"personal data in {v}: {leaks_in_rows(rows, pii)}"
                readable.append(v)
        for v in CONTRACT_VIEWS:
            assert v not in views or v in readable, f"the analyst cannot read {v}"
        assert "case_status" in readable
        assert "case_petitioners" not in readable
        for t in tables:
            with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(sql.SQL("SELECT 1 FROM casetrack.{} LIMIT 1").format(sql.Identifier(t)))
    finally:
        conn.close()


@pytest.fixture
def login_in(settings: Settings) -> Iterator[Callable[[str], str]]:
    """A factory of login roles that hold only the given group role; returns each one's database URL."""
    url = settings.database_url or ""
    admin = psycopg2.connect(url)
    admin.autocommit = True
    made: list[str] = []

    def make(group: str) -> str:
        role = f"ct_{group.removeprefix('casetrack_')}_{uuid.uuid4().hex[:8]}"
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(role), sql.Identifier(group))
            )
        made.append(role)
        return str(make_dsn(**{**parse_dsn(url), "user": role}))

    try:
        yield make
    finally:
        with admin.cursor() as cur:
            for role in made:
                cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()


@pytest.fixture
def writer_url(login_in: Callable[[str], str]) -> str:
    """A login role that holds only ``casetrack_writer``."""
    return login_in("casetrack_writer")


def test_the_analysts_rights_are_exactly_select_on_the_analyst_views(settings: Settings) -> None:
    """Every relation and function of the database, as the catalog sees it (not a list kept by hand): the
    analysts' role may SELECT the analyst views and nothing else, write nothing, and call no function (a
    trigger function, executable by PUBLIC by default, cannot be called directly)."""
    url = settings.database_url or ""
    relations = query(
        url,
        "SELECT n.nspname, c.relname, c.relkind,"
        " has_table_privilege('casetrack_analyst', c.oid, 'SELECT'),"
        " has_table_privilege('casetrack_analyst', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
        " AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')",
    )
    assert len(relations) > 20  # the whole schema was seen
    readable = {(schema, name) for schema, name, _, select, _ in relations if select}
    assert readable == {("public", v) for v in ANALYST_VIEWS}
    assert not [(schema, name) for schema, name, _, _, write in relations if write]
    callable_ = query(
        url,
        "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND p.prorettype <> 'trigger'::regtype"
        " AND has_function_privilege('casetrack_analyst', p.oid, 'EXECUTE')",
    )
    assert callable_ == []
    schema_rights = query(
        url,
        "SELECT has_schema_privilege('casetrack_analyst', 'casetrack', 'USAGE'),"
        " has_schema_privilege('casetrack_analyst', 'public', 'CREATE')",
    )
    assert schema_rights == [(False, False)]


def test_the_consumer_runs_with_the_writer_role_alone(
    stream: tuple[Settings, list[Message], set[str]], writer_url: str, database_factory: Callable[[], str]
) -> None:
    settings, _, _ = stream
    as_writer = settings.model_copy(update={"database_url": writer_url})
    totals = consume(as_writer)
    assert totals.applied > 0
    conn = psycopg2.connect(writer_url)
    try:
        for statement in (
            "UPDATE casetrack.event_store SET source = 'x'",
            "DELETE FROM casetrack.event_store",
            "DROP TABLE casetrack.tracking",
            "CREATE TABLE public.intruder (x int)",
        ):
            with conn.cursor() as cur, pytest.raises(psycopg2.Error):
                cur.execute(statement)
            conn.rollback()
    finally:
        conn.close()


def test_only_the_eraser_role_can_forget(
    stream: tuple[Settings, list[Message], set[str]], login_in: Callable[[str], str]
) -> None:
    """The consumer's role creates keys but cannot destroy one, write an erasure audit or tombstone anyone;
    ``casetrack forget`` runs with ``casetrack_eraser``."""
    settings, _, _ = stream
    writer, eraser = login_in("casetrack_writer"), login_in("casetrack_eraser")
    assert consume(settings.model_copy(update={"database_url": writer})).applied > 0  # keys created as writer
    url = settings.database_url or ""
    ((person,),) = query(url, "SELECT person FROM casetrack.person_keys WHERE key IS NOT NULL LIMIT 1")
    conn = psycopg2.connect(writer)
    try:
        for statement, params in (
            ("UPDATE casetrack.person_keys SET key = NULL WHERE person = %s", (person,)),
            ("INSERT INTO casetrack.person_keys (person, key, forgotten_at) VALUES ('p_x', NULL, now())", ()),
            ("INSERT INTO casetrack.erasure_audit (person, requested_by, reason, key_existed)"
             " VALUES ('p_x', 'a', 'b', false)", ()),
        ):  # fmt: skip
            with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(statement, params)
            conn.rollback()
    finally:
        conn.close()
    args = ["forget", "--phone", "139 0000 1111", "--requested-by", "clerk-1", "--reason", "request 42"]
    denied = run_cli(settings.model_copy(update={"database_url": writer}), args)
    assert denied.returncode == 1 and "casetrack_eraser" in denied.stderr, denied.stdout + denied.stderr
    assert "Traceback" not in denied.stderr
    assert query(url, "SELECT count(*) FROM casetrack.erasure_audit") == [(0,)]
    done = run_cli(settings.model_copy(update={"database_url": eraser}), args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert query(url, "SELECT requested_by, reason FROM casetrack.erasure_audit") == [
        ("clerk-1", "request 42")
    ]
