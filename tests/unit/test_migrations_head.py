"""The schema head the consumer checks at start-up is the head of the Alembic migrations."""

from __future__ import annotations

from app.bootstrap import SCHEMA_HEAD, head_revision


def test_the_start_up_check_knows_the_newest_migration() -> None:
    assert head_revision() == SCHEMA_HEAD, "a new migration: update SCHEMA_HEAD in app/bootstrap.py"
