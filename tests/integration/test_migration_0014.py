"""Migration 0014 goes down to 0013 and back up: 0010's views exactly, grants kept, then the roles again."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.bootstrap import MIGRATIONS, migrate
from tests.integration.helpers import query
from tests.integration.test_migration_0010 import columns

VIEWS = ("case_status", "case_cycles", "completion_rates", "petition_tallies", "department_scorecard",
         "penalty_items", "repeat_callers")  # fmt: skip


def grants(url: str) -> list[tuple[str, str]]:
    return query(
        url,
        "SELECT table_name, grantee FROM information_schema.role_table_grants WHERE table_schema = 'public'"
        " AND table_name = ANY(%s) AND privilege_type = 'SELECT' ORDER BY 1, 2",
        (list(VIEWS),),
    )


def test_0014_downgrades_to_0013_and_upgrades_again(database_url: str) -> None:
    before = grants(database_url)
    assert ("completion_rates", "casetrack_analyst") in before
    assert columns(database_url, "completion_rates")[-1] == "role"
    assert columns(database_url, "case_status")[-1] == "co_departments"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["dsn"] = database_url
    command.downgrade(cfg, "0013")
    assert columns(database_url, "case_status")[-1] == "withdrawn_at"  # as 0010 left it
    assert columns(database_url, "completion_rates")[-1] == "estimated_deadlines"
    assert columns(database_url, "penalty_items")[-1] == "points"
    assert columns(database_url, "department_scorecard")[-1] == "estimated_cards"
    assert columns(database_url, "completion_rates_by_role") == []
    assert grants(database_url) == before
    migrate(database_url)
    assert columns(database_url, "case_cycles")[-1] == "co_departments"
    assert columns(database_url, "completion_rates_by_role")[-1] == "role"
    assert grants(database_url) == before
    analyst = query(
        database_url,
        "SELECT has_table_privilege('casetrack_analyst', 'public.completion_rates_by_role', 'SELECT')",
    )
    assert analyst == [(True,)]
