"""Personal data end to end, on the real broker and database: pseudonymous repeat counts, no plaintext in
PostgreSQL, ``casetrack forget`` (counts kept, replays still work), sealing at the source, and who may see what.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest
from click.testing import CliRunner

from app.bootstrap import build_sealer
from app.embedded import _embedded_postgres
from app.settings import Settings
from casetrack import cli
from consumers.pg_store import PgStore
from events import data as d
from events.catalog import Event
from privacy.lookup import officer_lookup
from privacy.pg_people import PgPeople
from privacy.pii import Sealer, seal_events
from projections.base import fold
from projections.case_status import CaseStatusProjection
from tests.conftest import endpoints
from tests.factories import TZ, case_stream, envelope
from tests.integration.helpers import consume, publish, query

T0 = dt.datetime(2026, 10, 12, 9, tzinfo=TZ)
NAME = "欧阳震华"  # the person who will ask to be forgotten
PHONE = "13987654321"
PHONE_SPELLINGS = (PHONE, "+86 139-8765-4321", "139 8765 4321")
ID = "11010519491231002X"
ID_15 = ID[:6] + ID[8:17]  # the first-generation spelling of the same number
OTHER = {"name": "司马相如", "phone": "13700001111"}
COLUMNS = CaseStatusProjection.columns


def case(case_id: str, hours: float, petitioner: dict[str, str] | None, n: int = 3) -> list[Event]:
    """A short case: received (with the petitioner), assigned, resolved."""
    from events.codec import event_from_dict

    t = T0 + dt.timedelta(hours=hours)
    received: dict[str, Any] = {"channel": "letter", "category": "征地拆迁", "summary": "补偿争议"}
    if petitioner is not None:
        received["petitioner"] = petitioner
    steps: list[tuple[str, dict[str, Any]]] = [
        ("case.received", received),
        ("case.assigned", {"department": "市住建局"}),
        ("case.resolved", {"department": "市住建局", "outcome": "resolved"}),
    ]
    return [
        event_from_dict(envelope(f"{case_id}-{i}", type_, case_id, t + dt.timedelta(hours=i), data))
        for i, (type_, data) in enumerate(steps[:n])
    ]


def workload() -> list[Event]:
    """Background cases plus the person to be forgotten (by phone in three spellings, and by ID number)."""
    events = case_stream(60, seed=17)
    events += case("P1", 1, {"name": NAME, "phone": PHONE_SPELLINGS[0]})
    events += case("P2", 30, {"name": NAME, "phone": PHONE_SPELLINGS[1]})
    events += case("P3", 60, {"phone": PHONE_SPELLINGS[2]})
    events += case("P4", 90, {"name": NAME, "id_number": ID, "phone": PHONE})
    events += case("P5", 120, {"name": NAME, "id_number": ID_15})
    events += case("O1", 2, OTHER)
    events += case("O2", 50, OTHER)
    events += case("A1", 3, {"name": "张三"})  # name only: two unlinkable persons
    events += case("A2", 4, {"name": "张三"})
    events += case("N1", 5, None)
    return sorted(events, key=lambda e: e.sort_key)


def pg_dump(database_url: str) -> str:
    import subprocess

    binary = _embedded_postgres()._commands.POSTGRES_BIN_PATH / "pg_dump"
    done = subprocess.run(
        [str(binary), "--no-owner", "--dbname", database_url], capture_output=True, check=True, timeout=120
    )
    return done.stdout.decode("utf-8")


def plaintext_in(dump: str) -> list[str]:
    """Every spelling of the forgotten person's data found in a dump (``\\u`` escapes too)."""
    needles = {NAME, NAME.encode("unicode_escape").decode(), ID, ID.lower(), ID_15, *PHONE_SPELLINGS}
    needles |= {"8765-4321", "8765 4321"}
    return sorted(n for n in needles if n in dump)


def live_rows(url: str) -> list[tuple[Any, ...]]:
    # The live generation's rows with every projection column (the view leaves out internal ones).
    ((live,),) = query(url, "SELECT generation FROM casetrack.live_generations WHERE projection = 'case'")
    return generation_rows(url, live)


def generation_rows(url: str, generation: int) -> list[tuple[Any, ...]]:
    cols = ", ".join(COLUMNS)
    return query(
        url,
        f"SELECT {cols} FROM casetrack.case_state WHERE generation = %s ORDER BY case_id",  # noqa: S608
        (generation,),
    )


def pseudonym_counts(url: str) -> Counter[str]:
    rows = query(url, "SELECT petitioner_pseudonym FROM case_status WHERE petitioner_pseudonym IS NOT NULL")
    return Counter(r[0] for r in rows)


def run_cli(settings: Settings, *args: str) -> Any:
    env = {
        "CASETRACK_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "CASETRACK_DATABASE_URL": settings.database_url,
        "CASETRACK_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value()
        if settings.pseudonym_key
        else None,
    }
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def sealer(settings: Settings) -> Iterator[Sealer]:
    """The sealer the consumer uses (same database, same pseudonym key)."""
    built = build_sealer(settings, endpoints(settings))
    yield built
    close = getattr(built.keystore, "close", None)
    if close is not None:
        close()


# --- pseudonymous counts ------------------------------------------------------------------------------
def test_repeat_petitions_are_counted_by_pseudonym(settings: Settings, sealer: Sealer) -> None:
    url = settings.database_url or ""
    publish(settings, workload())
    consume(settings)
    pseudonym = sealer.pseudonymizer.pseudonym
    counts = pseudonym_counts(url)
    by_phone, by_id = pseudonym("phone", PHONE), pseudonym("id_number", ID)
    assert counts[by_phone] == 3  # three spellings of one phone number: one person
    assert counts[by_id] == 2  # 18- and 15-digit ID spellings; P4 is keyed by its ID number, not its phone
    assert counts[pseudonym("phone", OTHER["phone"])] == 2
    anonymous = query(url, "SELECT petitioner_pseudonym FROM case_status WHERE case_id IN ('A1', 'A2')")
    assert len({r[0] for r in anonymous}) == 2 and all(r[0].startswith("a_") for r in anonymous)
    assert query(url, "SELECT petitioner_pseudonym FROM case_status WHERE case_id = 'N1'") == [(None,)]
    # The same counts an analyst would run: repeat petitioners, without identities.
    repeaters = query(
        url,
        "SELECT count(*) FROM (SELECT petitioner_pseudonym FROM case_status"
        " WHERE left(petitioner_pseudonym, 2) = 'p_' GROUP BY 1 HAVING count(*) > 1) r",
    )
    assert repeaters[0][0] >= 3


# --- forget ---------------------------------------------------------------------------------------------
def test_forget_leaves_no_plaintext_keeps_totals_and_replays(settings: Settings, sealer: Sealer) -> None:
    url = settings.database_url or ""
    events = workload()
    publish(settings, events)
    consume(settings)

    # Plaintext never reached PostgreSQL, yet an officer can still read it (the keys exist).
    assert plaintext_in(pg_dump(url)) == []
    conn = psycopg2.connect(url)
    try:
        (p1,) = officer_lookup(PgPeople(conn), "P1")
        assert p1.fields == {"name": NAME, "phone": PHONE_SPELLINGS[0]}
        assert NAME not in repr(p1)
    finally:
        conn.close()
    before = live_rows(url)
    counts_before = pseudonym_counts(url)

    result = run_cli(
        settings, "forget", "--phone", "139-8765-4321", "--id-number", ID.lower(),
        "--requested-by", "信访办 clerk-7", "--reason", "PIPL art. 47 request 2026-118",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 identifier(s) tombstoned, 2 key(s) destroyed" in result.output
    assert PHONE not in result.output and ID not in result.output

    # The keys are gone, the audit rows are there, no plaintext anywhere, and the totals did not move.
    by_phone = sealer.pseudonymizer.pseudonym("phone", PHONE)
    by_id = sealer.pseudonymizer.pseudonym("id_number", ID)
    assert query(
        url,
        "SELECT person, key IS NULL FROM casetrack.person_keys WHERE person = ANY(%s)",
        ([by_phone, by_id],),
    ) == sorted([(by_phone, True), (by_id, True)])
    audit = query(url, "SELECT person, requested_by, reason, key_existed FROM casetrack.erasure_audit")
    assert sorted(audit) == sorted(
        (p, "信访办 clerk-7", "PIPL art. 47 request 2026-118", True) for p in (by_phone, by_id)
    )
    dump = pg_dump(url)
    assert plaintext_in(dump) == []
    assert OTHER["phone"] not in dump  # never there either
    assert live_rows(url) == before
    assert pseudonym_counts(url) == counts_before

    # Officers now see erased records; the other petitioners are untouched.
    conn = psycopg2.connect(url)
    try:
        assert [
            p.fields for c in ("P1", "P2", "P3", "P4", "P5") for p in officer_lookup(PgPeople(conn), c)
        ] == [None] * 5
        (o1,) = officer_lookup(PgPeople(conn), "O1")
        assert o1.fields == OTHER
    finally:
        conn.close()
    shown = run_cli(settings, "officer-lookup", "P2")
    assert shown.exit_code == 0 and "erased" in shown.output and NAME not in shown.output

    # Replay 1: rebuild the case projection from Kafka (plaintext!) into a new generation, same keys.
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO casetrack.generations (projection, source, status)"
                " VALUES ('case', 'kafka', 'building') RETURNING generation"
            )
            generation = cur.fetchone()[0]  # type: ignore[index]
    finally:
        conn.close()
    totals = consume(
        settings, follow_live=False, generations={"case": generation}, topics={settings.topics.case: "case"}
    )
    assert totals.applied == len(events) and totals.dead_letters == 0
    assert generation_rows(url, generation) == before
    # Replay 2: fold the event store (sealed forms, some of them now undecipherable) from scratch.
    store = PgStore(url)
    try:
        proj = CaseStatusProjection()
        folded = {
            subject: fold(proj, subject, [e for e in chunk if e.subject == subject])
            for chunk in store.iter_events("case")
            for subject in {e.subject for e in chunk}
        }
    finally:
        store.close()
    live = {row[0]: row[COLUMNS.index("petitioner_pseudonym")] for row in before}
    assert {k: s.petitioner_pseudonym for k, s in folded.items()} == live

    # A new event of the forgotten person (or a replay of an old one) is stored erased, never readable.
    publish(settings, case("P6", 200, {"name": NAME, "phone": PHONE}))
    consume(settings)
    (stored,) = query(
        url,
        "SELECT data -> 'petitioner' FROM casetrack.event_store WHERE subject = 'P6' AND type = 'case.received'",
    )
    assert stored[0] == {"v": 1, "person": by_phone, "erased": True}
    assert pseudonym_counts(url)[by_phone] == counts_before[by_phone] + 1
    assert plaintext_in(pg_dump(url)) == []


def test_forget_by_case_reaches_a_name_only_petitioner(settings: Settings, sealer: Sealer) -> None:
    url = settings.database_url or ""
    publish(settings, workload())
    consume(settings)
    result = run_cli(settings, "forget", "--case", "A1", "--requested-by", "clerk-7", "--reason", "request 9")
    assert result.exit_code == 0, result.output
    conn = psycopg2.connect(url)
    try:
        assert [p.fields for p in officer_lookup(PgPeople(conn), "A1")] == [None]
        assert [p.fields for p in officer_lookup(PgPeople(conn), "A2")] == [{"name": "张三"}]
    finally:
        conn.close()
    refused = run_cli(
        settings, "forget", "--phone", PHONE, "--requested-by", "x", "--reason", f"asked by {PHONE}"
    )
    assert refused.exit_code != 0 and "must not contain" in refused.output
    assert run_cli(settings, "forget", "--requested-by", "x", "--reason", "y").exit_code != 0


# --- sealing at the source ------------------------------------------------------------------------------
def test_events_sealed_at_the_source_are_stored_as_sent(settings: Settings, sealer: Sealer) -> None:
    url = settings.database_url or ""
    sent = seal_events(case("S1", 1, {"name": NAME, "phone": PHONE}), sealer)  # what a producer would do
    received = sent[0].data
    assert isinstance(received, d.CaseReceived) and isinstance(received.petitioner, d.SealedPetitioner)
    publish(settings, sent)
    consume(settings)
    (stored,) = query(
        url,
        "SELECT data -> 'petitioner' FROM casetrack.event_store WHERE subject = 'S1' AND type = 'case.received'",
    )
    assert stored[0] == received.petitioner.model_dump()  # not re-encrypted by the consumer
    conn = psycopg2.connect(url)
    try:
        assert [p.fields for p in officer_lookup(PgPeople(conn), "S1")] == [{"name": NAME, "phone": PHONE}]
    finally:
        conn.close()


# --- access ---------------------------------------------------------------------------------------------
@pytest.fixture
def login_roles(pg_admin: str) -> Iterator[Callable[[str], str]]:
    """Creates LOGIN roles in a group role (cluster-wide, so uniquely named); drops them afterwards."""
    made: list[str] = []

    def make(group: str) -> str:
        name = f"{group}_{uuid.uuid4().hex[:8]}"
        conn = psycopg2.connect(pg_admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE {group}')
        conn.close()
        made.append(name)
        return name

    yield make
    conn = psycopg2.connect(pg_admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in made:
            cur.execute(f'DROP ROLE IF EXISTS "{name}"')
    conn.close()


def as_role(url: str, role: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'SET ROLE "{role}"')
            cur.execute(statement, params)
            rows = cur.fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


SECRET_RELATIONS = (
    "SELECT * FROM casetrack.person_keys",
    "SELECT * FROM casetrack.forgotten_persons",
    "SELECT * FROM casetrack.erasure_audit",
    "SELECT * FROM casetrack.secrets",
    "SELECT * FROM casetrack.identity_access_log",
    "SELECT * FROM casetrack.event_store",
)


def test_analysts_are_denied_keys_and_identities_officers_get_the_audited_view(
    settings: Settings, login_roles: Callable[[str], str]
) -> None:
    url = settings.database_url or ""
    publish(settings, workload())
    consume(settings)
    analyst, officer = login_roles("casetrack_analyst"), login_roles("casetrack_officer")

    assert as_role(url, analyst, "SELECT count(*) FROM public.case_status")[0][0] > 60  # their own view works
    for statement in (
        *SECRET_RELATIONS,
        "SELECT * FROM public.case_petitioners",
        "SELECT * FROM casetrack.petitioner_keys('P1')",
    ):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_role(url, analyst, statement)

    # Officers: the sealed view and the per-case key function (logged), never the key table itself.
    rows = as_role(
        url, officer, "SELECT person, erased, sealed FROM public.case_petitioners WHERE case_id = 'P1'"
    )
    assert len(rows) == 1 and rows[0][1] is False and "ct" in rows[0][2]
    assert len(as_role(url, officer, "SELECT * FROM casetrack.petitioner_keys('P1')")) == 1
    assert query(url, "SELECT case_id FROM casetrack.identity_access_log") == [("P1",)]
    for statement in SECRET_RELATIONS:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            as_role(url, officer, statement)
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'SET ROLE "{officer}"')
        (p1,) = officer_lookup(PgPeople(conn), "P1")
        assert p1.fields == {"name": NAME, "phone": PHONE_SPELLINGS[0]}
    finally:
        conn.close()
