"""The PostgreSQL connection adapter (``app/pg_connect.py``) and the pure messages of ``app/errors.py``: what an
operator reads when a server cannot be reached, and that a password never shows. No server is needed: the
connection failures are real ones, to a loopback port nobody listens on."""

from __future__ import annotations

import socket

import psycopg2
import pytest
from kafka.errors import KafkaConnectionError

from app.errors import (
    EXIT_DATABASE,
    EXIT_KAFKA,
    BrokerUnreachable,
    CasetrackError,
    DatabaseUnreachable,
    database_unreachable,
    known_error,
)
from app.pg_connect import (
    connect,
    connection,
    connection_failure,
    database_target,
    dbname_of,
    mask_url,
    translate,
    with_dbname,
    without_password,
)
from consumers.ports import StoreUnavailable

PASSWORD = "s3cret-pw"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def refused_url() -> str:
    return f"postgresql://casetrack:{PASSWORD}@127.0.0.1:{closed_port()}/casetrack"


def driver_error(url: str) -> psycopg2.OperationalError:
    """psycopg2's own error for a refused connection (a real one, not a constructed imitation)."""
    try:
        psycopg2.connect(url).close()
    except psycopg2.OperationalError as exc:
        return exc
    raise AssertionError("something listens on the closed port")


def test_a_refused_connection_is_database_unreachable_caused_by_the_driver_error(refused_url: str) -> None:
    with pytest.raises(DatabaseUnreachable) as caught:
        connect(refused_url, application_name="casetrack-test", connect_timeout=3)
    assert caught.value.exit_code == EXIT_DATABASE
    assert isinstance(caught.value.__cause__, psycopg2.OperationalError)  # --debug shows the driver's error
    first, second = str(caught.value).splitlines()
    port = refused_url.rsplit(":", 1)[1].split("/")[0]
    assert first.startswith(f"cannot reach PostgreSQL at 127.0.0.1:{port}/casetrack: ")
    assert "Connection refused" in first and "CASETRACK_DATABASE_URL" in second
    assert PASSWORD not in str(caught.value)
    with pytest.raises(DatabaseUnreachable), connection(refused_url):
        pass


def test_translate_gives_the_same_message_for_the_driver_error_bare_or_wrapped(refused_url: str) -> None:
    exc = driver_error(refused_url)
    bare = translate(exc, refused_url, None)
    wrapped = translate(StoreUnavailable("store unavailable", orig=exc), refused_url, None)
    assert isinstance(bare, DatabaseUnreachable) and isinstance(wrapped, DatabaseUnreachable)
    assert str(bare) == str(wrapped)
    assert connection_failure(exc) is exc and connection_failure(StoreUnavailable("x", orig=exc)) is exc
    assert translate(exc, None, None) is None  # no server named: nothing to say about it
    assert translate(ValueError("a bug"), refused_url, "127.0.0.1:1") is None


def test_translate_passes_own_errors_and_names_kafka() -> None:
    own = CasetrackError("already ours")
    assert translate(own, None, None) is own
    broker = translate(KafkaConnectionError("refused"), None, "127.0.0.1:9")
    assert isinstance(broker, BrokerUnreachable) and broker.exit_code == EXIT_KAFKA
    assert str(broker).startswith("cannot reach Kafka: 127.0.0.1:9: ")
    assert known_error(KafkaConnectionError("refused"), None) is None


@pytest.mark.parametrize(
    ("reason", "hint"),
    [
        ('password authentication failed for user "casetrack"', "check the user and password"),
        ('database "nope" does not exist', "check the database name"),
        ("Connection refused", "check that PostgreSQL runs there"),
    ],
)
def test_the_hint_follows_the_reason(reason: str, hint: str) -> None:
    message = str(database_unreachable("db:5432/casetrack", reason))
    assert message.startswith(f"cannot reach PostgreSQL at db:5432/casetrack: {reason}\n  {hint}")


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (f"postgresql://u:{PASSWORD}@db.example:6543/cases", "db.example:6543/cases"),
        (f"host=db user=u password={PASSWORD} dbname=cases", "db:5432/cases"),
        ("host=/run/postgresql user=u", "socket in /run/postgresql:5432/u"),
        ("postgresql://", "local socket:5432/?"),
        ("host='unterminated", "(unparseable database URL)"),
    ],
)
def test_targets_and_masked_urls_never_show_a_password(url: str, target: str) -> None:
    assert database_target(url) == target
    assert PASSWORD not in mask_url(url)
    if PASSWORD in url:
        assert "password=***" in mask_url(url)


def test_connection_strings_for_other_databases_and_for_printing() -> None:
    url = f"postgresql://u:{PASSWORD}@db:5432/casetrack"
    other = with_dbname(url, "casetrack_demo")
    assert dbname_of(other) == "casetrack_demo" and dbname_of(url) == "casetrack"
    assert dbname_of("host=db") is None
    printable, had = without_password(other)
    assert had and PASSWORD not in printable and "dbname=casetrack_demo" in printable
    assert without_password("host=db dbname=x") == ("dbname=x host=db", False)
