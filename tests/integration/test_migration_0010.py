"""Migration 0010 goes down to 0009 and back up: the views as 0002/0007/0008 defined them, then 0010's again."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.bootstrap import MIGRATIONS, migrate
from tests.integration.helpers import query


def columns(url: str, view: str) -> list[str]:
    return [
        r[0]
        for r in query(
            url,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name = %s ORDER BY ordinal_position",
            (view,),
        )
    ]


def test_0010_downgrades_to_0009_and_upgrades_again(database_url: str) -> None:
    assert {"cycle", "due_department", "withdrawn_at"} <= set(columns(database_url, "case_status"))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["dsn"] = database_url
    command.downgrade(cfg, "0009")
    assert columns(database_url, "case_status")[-1] == "last_event_at"  # as 0008 left it
    assert columns(database_url, "penalty_items") == columns(database_url, "case_cycles") == []
    assert "estimated_deadlines" not in columns(database_url, "completion_rates")
    assert columns(database_url, "repeat_callers")  # recreated after case_status
    grants = query(
        database_url,
        "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'casetrack_analyst'"
        " AND table_name IN ('case_status', 'completion_rates', 'petition_tallies', 'department_scorecard',"
        " 'repeat_callers') AND privilege_type = 'SELECT'",
    )
    assert grants == [(5,)]
    migrate(database_url)
    assert columns(database_url, "penalty_items")[-2:] == ["points", "role"]  # role: migration 0014
    assert columns(database_url, "department_scorecard")[-3:] == [
        "violation_count",
        "estimated_cards",
        "co_handled",
    ]
