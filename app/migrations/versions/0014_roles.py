"""Lead and co-handling departments (主办 / 协办, issue 19 point 4): which role each figure counts.

* ``casetrack.case_state.office`` (the intake office, internal) and ``co_departments``: the co-handlers (协办) of the latest ``case.assigned``, or the other
  departments of a 并联审批 application (written by ``projections/case_status.py``); ``case_status`` and
  ``case_cycles`` show it (an earlier cycle's from ``past_cycles``).
* ``completion_rates`` gains ``role`` (always ``lead``: its figures are unchanged); the new
  ``completion_rates_by_role`` adds a ``co`` row per co-department (the cases it co-handled, with the lead's
  outcome). ``penalty_items`` gains ``role`` (``lead``, or ``office`` for a card charged to the intake
  office); ``department_scorecard`` gains ``co_handled``. docs/analysts.md ('Lead and co-handling').

The views are 0010's, recreated from its own text with these additions (so nothing else changes). Rows
written before this migration get ``co_departments`` when their case is next written; ``casetrack replay``
fills every row from the event store.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _v0010() -> ModuleType:
    """Migration 0010, whose view texts this one extends (and restores on downgrade)."""
    spec = importlib.util.spec_from_file_location(
        "_v0010", Path(__file__).with_name("0010_cycles_and_cards.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _edit(text: str, *edits: tuple[str, str, int]) -> str:
    """``text`` with each (old, new, expected count) replacement; refuses if 0010's text is not as expected."""
    for old, new, count in edits:
        found = text.count(old)
        if found != count:
            raise RuntimeError(
                f"migration 0014: expected {count} x {old!r} in 0010's view text, found {found}"
            )
        text = text.replace(old, new)
    return text


COLUMN = """
ALTER TABLE casetrack.case_state ADD COLUMN co_departments text[], ADD COLUMN office text;
COMMENT ON COLUMN casetrack.case_state.co_departments IS
    'co-handling departments (协办) of the latest assignment, or the other departments of a 并联审批 application';
COMMENT ON COLUMN casetrack.case_state.office IS
    'the intake office (CloudEvents source of case.received): charged for the steps it answers for';
"""

# A case's co-departments, one row each, in the columns completion_rates reads (department = the co-department).
_CO_CASES = """(SELECT x.received_at, x.channel, d.department, x.resolved_at, x.reopen_count, x.status,
           x.return_count, x.withdrawn_at
     FROM public.case_status x CROSS JOIN LATERAL unnest(x.co_departments) AS d(department)) c"""
_CO_CYCLES = """(SELECT y.case_id, y.cycle, y.current, y.channel, y.status, y.resolved_at, y.ended_at, y.due_at,
           y.on_time, y.followed_up, y.satisfaction, y.working_days, y.calendar_gap, d.department
     FROM public.case_cycles y CROSS JOIN LATERAL unnest(y.co_departments) AS d(department)) k"""

#: card causes of steps the intake office answers for (docs/deadlines.md, 'Who is charged')
_OFFICE_ROLE = """,
       CASE WHEN i.aggregate = 'case' AND i.department = (
                SELECT s.office FROM casetrack.case_state s
                JOIN casetrack.live_generations g ON g.projection = 'case' AND g.generation = s.generation
                WHERE s.case_id = i.subject_id)
            THEN 'office' ELSE 'lead' END AS role
FROM items i CROSS JOIN pts p;"""


def upgrade_views(v: ModuleType) -> list[str]:
    """0010's views with the roles added, in dependency order."""
    case_status = _edit(
        v.CASE_STATUS,
        ("THEN s.correction_due_at END) AS withdrawn_at\n", "THEN s.correction_due_at END) AS withdrawn_at,\n"
         "       s.co_departments\n", 1),
    )  # fmt: skip
    case_cycles = _edit(
        v.CASE_CYCLES,
        ("CREATE VIEW", "CREATE OR REPLACE VIEW", 1),
        ("    extension_excess integer)", "    extension_excess integer, co_departments text[])", 1),
        ("       p.extension_excess\n", "       p.extension_excess, p.co_departments\n", 1),
        ("       c.extension_excess\n", "       c.extension_excess, c.co_departments\n", 1),
    )
    penalty_items = _edit(
        v.PENALTY_ITEMS,
        ("CREATE VIEW", "CREATE OR REPLACE VIEW", 1),
        ("\nFROM items i CROSS JOIN pts p;", _OFFICE_ROLE, 1),
    )
    scorecard = _edit(
        v.DEPARTMENT_SCORECARD,
        ("0::numeric AS points, false AS estimated\n", "0::numeric AS points, false AS estimated, 0 AS co_handled\n", 1),
        ("    SELECT i.department, i.month, 0, i.card, i.points, i.estimated\n    FROM public.penalty_items i\n",
         "    SELECT i.department, i.month, 0, i.card, i.points, i.estimated, 0\n    FROM public.penalty_items i\n"
         "    UNION ALL\n"
         "    SELECT d.department, date_trunc('month', (k.resolved_at) AT TIME ZONE 'Asia/Shanghai')::date, 0, NULL,\n"
         "           0, false, 1\n"
         "    FROM public.case_cycles k CROSS JOIN LATERAL unnest(k.co_departments) AS d(department)\n"
         "    WHERE k.resolved_at IS NOT NULL\n", 1),
        ("::integer AS estimated_cards\n", "::integer AS estimated_cards,\n"
         "       sum(f.co_handled)::integer AS co_handled\n", 1),
    )  # fmt: skip
    rates = _edit(
        v.COMPLETION_RATES,
        ("       s.withdrawn, s.estimated_deadlines\nFROM sums s;",
         "       s.withdrawn, s.estimated_deadlines,\n       'lead'::text AS role\nFROM sums s;", 1),
    )  # fmt: skip
    co_query = _edit(
        v.COMPLETION_RATES.split(" AS\n", 1)[1].split(";\nCOMMENT", 1)[0],
        ("FROM public.case_status c\n    WHERE c.received_at IS NOT NULL", f"FROM {_CO_CASES}\n    WHERE c.received_at IS NOT NULL", 1),
        ("FROM public.case_cycles k", f"FROM {_CO_CYCLES}", 3),
    )  # fmt: skip
    by_role = "".join((BY_ROLE_HEAD, co_query, BY_ROLE_TAIL))  # 0010's own text, edited above
    return [case_status, case_cycles, penalty_items, scorecard, rates, by_role]


BY_ROLE_HEAD = """
CREATE VIEW public.completion_rates_by_role AS
SELECT * FROM public.completion_rates
UNION ALL
SELECT co.*, 'co'::text FROM (
"""
BY_ROLE_TAIL = """
) co;
COMMENT ON VIEW public.completion_rates_by_role IS
    'completion_rates (role lead) and, per co-handling department (协办), the cases it co-handled (role co): docs/analysts.md.';
GRANT SELECT ON public.completion_rates_by_role TO casetrack_analyst, casetrack_officer, casetrack_writer;
"""

# Views that read case_status's columns: dropped and recreated on downgrade (grants kept, see below).
_DEPENDENT = ("department_scorecard", "penalty_items", "completion_rates", "petition_tallies", "case_cycles",
              "repeat_callers", "case_status")  # fmt: skip

SAVE_GRANTS = """
CREATE TEMPORARY TABLE _grants_0014 AS
SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants
WHERE table_schema = 'public' AND table_name = ANY(%(views)s) AND grantee <> current_user;
"""

RESTORE_GRANTS = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM _grants_0014 LOOP
        EXECUTE format('GRANT %s ON public.%I TO %I', r.privilege_type, r.table_name, r.grantee);
    END LOOP;
END
$$;
DROP TABLE _grants_0014;
"""


def upgrade() -> None:
    op.execute(COLUMN)
    for statement in upgrade_views(_v0010()):
        op.execute(statement)


def downgrade() -> None:
    """Back to 0013: the views exactly as 0010 defined them (repeat_callers as 0007), the column dropped."""
    v = _v0010()
    views = list(_DEPENDENT)
    op.execute("DROP VIEW IF EXISTS public.completion_rates_by_role")
    op.get_bind().exec_driver_sql(SAVE_GRANTS, {"views": views})
    op.execute("DROP VIEW " + ", ".join(f"public.{name}" for name in views))
    for statement in (v.CASE_STATUS, v.CASE_CYCLES, v.PENALTY_ITEMS, v.DEPARTMENT_SCORECARD, v.COMPLETION_RATES,
                      v.PETITION_TALLIES, v.DOWNGRADE_REPEAT_CALLERS):  # fmt: skip
        op.execute(statement)
    op.execute(RESTORE_GRANTS)
    op.execute("ALTER TABLE casetrack.case_state DROP COLUMN co_departments, DROP COLUMN office")
