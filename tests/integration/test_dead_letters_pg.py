"""The PostgreSQL side of ``casetrack dlq`` (ops/pg_dead_letters.py): selecting and marking rows of
``casetrack.dead_letters``, and driver errors leaving as the project's own."""

from __future__ import annotations

import psycopg2
import pytest

from consumers.pg_store import PgStore
from consumers.ports import DeadLetter, StoreUnavailable
from ops.pg_dead_letters import LETTER_COLUMNS, letters_at, mark_discarded, mark_republished, select_letters
from tests.integration.test_store_pg import closed_port


def _record(url: str, *letters: DeadLetter) -> None:
    store = PgStore(url)
    try:
        with store.transaction() as tx:
            tx.record_dead_letters(list(letters))
    finally:
        store.close()


def test_letters_are_selected_and_marked(database_url: str) -> None:
    _record(
        database_url,
        DeadLetter(
            "cases", 0, 5, "schema_violation", "no department", event_id="e1", event_type="case.assigned"
        ),
        DeadLetter("cases", 1, 9, "invalid_json", "not JSON"),
    )
    pending = select_letters(database_url, None, None, "pending", None)
    # one transaction, one dead_lettered_at: then by topic, partition, offset
    assert [r[:4] for r in pending] == [("cases", 0, 5, "schema_violation"), ("cases", 1, 9, "invalid_json")]
    assert all(len(r) == len(LETTER_COLUMNS) for r in pending)
    assert [r[:3] for r in select_letters(database_url, "cases", "invalid_json", "pending", 10)] == [
        ("cases", 1, 9)
    ]
    assert [r[:3] for r in letters_at(database_url, [("cases", 0, 5), ("cases", 7, 7)])] == [("cases", 0, 5)]

    mark_republished(database_url, [(("cases", 0, 5), "cases/0/42")])
    assert (
        mark_discarded(database_url, [("cases", 0, 5), ("cases", 1, 9)], "test garbage") == 1
    )  # pending only
    (sent,) = select_letters(database_url, None, None, "republished", None)
    assert sent[LETTER_COLUMNS.index("republished_as")] == "cases/0/42"
    (gone,) = select_letters(database_url, None, None, "discarded", None)
    assert gone[LETTER_COLUMNS.index("resolution")] == "test garbage"
    assert select_letters(database_url, None, None, "pending", None) == []


def test_an_unreachable_server_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        select_letters(f"postgresql://nobody@127.0.0.1:{closed_port()}/casetrack", None, None, "all", 1)
    assert isinstance(caught.value.orig, psycopg2.OperationalError)
