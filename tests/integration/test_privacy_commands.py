"""``casetrack forget`` and ``casetrack officer-lookup`` after their logic moved to ``privacy/erase.py`` and
``privacy/lookup.py``: the PostgreSQL adapters translate a refused privilege into the port's ``AccessDenied``
(the commands then say which role is needed), and a subject with nothing on record is one clear error."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn, parse_dsn

from app.settings import Settings
from privacy.lookup import look_up
from privacy.people import AccessDenied
from privacy.pg_keystore import PgKeyStore
from privacy.pg_people import PgPeople
from tests.integration.helpers import consume, publish, query
from tests.integration.test_personal_data import NAME, run_cli, workload


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
def consumed(settings: Settings) -> Settings:
    publish(settings, workload())
    consume(settings)
    return settings


def access_log(settings: Settings) -> int:
    return int(query(settings.database_url or "", "SELECT count(*) FROM casetrack.identity_access_log")[0][0])


def test_the_people_adapter_refuses_an_analyst_with_access_denied(
    consumed: Settings, login_in: Callable[[str], str]
) -> None:
    conn = psycopg2.connect(login_in("casetrack_analyst"))
    try:
        people = PgPeople(conn)
        for call in (
            lambda: people.case_persons("P1"),
            lambda: people.petitioners("P1", None),
            lambda: people.text_seals("case", "P1", None),
        ):
            with pytest.raises(AccessDenied, match="permission denied") as caught:
                call()
            assert isinstance(caught.value.__cause__, psycopg2.errors.InsufficientPrivilege)
    finally:
        conn.close()
    assert access_log(consumed) == 0


def test_an_officer_opens_a_case_and_fetches_no_keys_for_an_unknown_one(
    consumed: Settings, login_in: Callable[[str], str]
) -> None:
    conn = psycopg2.connect(login_in("casetrack_officer"))
    try:
        people = PgPeople(conn)
        assert people.petitioners("NOPE", None) == ([], {})
        assert access_log(consumed) == 0  # nothing to open: no key fetched, nothing logged
        found = look_up(people, "P1")
        assert [p.fields for p in found.petitioners] == [{"name": NAME, "phone": "13987654321"}]
        assert access_log(consumed) == 1
        assert NAME not in repr(found)
    finally:
        conn.close()


def test_officer_lookup_without_the_officer_role_says_which_role(
    consumed: Settings, login_in: Callable[[str], str]
) -> None:
    analyst = consumed.model_copy(update={"database_url": login_in("casetrack_analyst")})
    shown = run_cli(analyst, "officer-lookup", "P1")
    assert shown.exit_code == 1, shown.output
    assert "permission denied: officer look-ups need the casetrack_officer role" in shown.output
    assert NAME not in shown.output


def test_nothing_on_record_is_one_clear_error(consumed: Settings) -> None:
    shown = run_cli(consumed, "officer-lookup", "NOPE", "--aggregate", "supervision")
    assert shown.exit_code == 1 and "supervision NOPE has no personal data on record" in shown.output
    forgot = run_cli(consumed, "forget", "--case", "NOPE", "--requested-by", "clerk-1", "--reason", "r 1")
    assert forgot.exit_code == 1 and "case NOPE has no sealed petitioner" in forgot.output
    assert query(consumed.database_url or "", "SELECT count(*) FROM casetrack.erasure_audit") == [(0,)]


def test_the_key_store_refuses_the_writer_a_destruction_with_access_denied(
    consumed: Settings, login_in: Callable[[str], str]
) -> None:
    url = consumed.database_url or ""
    ((person,),) = query(url, "SELECT person FROM casetrack.person_keys WHERE key IS NOT NULL LIMIT 1")
    store = PgKeyStore(login_in("casetrack_writer"))
    try:
        with pytest.raises(AccessDenied):
            store.destroy(person, requested_by="clerk-1", reason="request 1")
        assert store.get(person) is not None  # rolled back: nothing was changed
    finally:
        store.close()
    assert query(url, "SELECT count(*) FROM casetrack.erasure_audit") == [(0,)]
