"""Supervision orders with a lead department (主办): completion and lateness per department.

* ``casetrack.supervision_state`` gains ``lead_department`` and each department's first completion
  (``done_departments`` / ``done_at``, written by ``projections/supervision.py``).
* The new view ``public.supervision_departments`` has one row per order x addressed department: its role
  (``lead``, ``co`` for 协办, ``addressed`` when no lead is named), its own completion and whether it is overdue.
  A department's lateness is its own (domain.md, 'Supervision orders'): one that finished its part in time is
  not late because the order was; one that never reported finishes with the order.
* ``penalty_items`` charges the overdue-order card per overdue department (was: every department of an
  overdue order), with ``role`` ``co`` for a co-handler. docs/analysts.md ('supervision_departments').

``penalty_items`` is 0014's text with the supervision part edited (refused if that text is not as expected).
Rows written before this migration get the new columns when their order is next written; ``casetrack
replay`` fills every row from the event store.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_v{name[:4]}", Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _penalty_items_0014() -> str:
    v0014 = _migration("0014_roles.py")
    return str(v0014.upgrade_views(v0014._v0010())[2])


def _edit(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise RuntimeError(
            f"migration 0015: expected 1 x {old!r} in 0014's penalty_items, found {text.count(old)}"
        )
    return text.replace(old, new)


COLUMNS = """
ALTER TABLE casetrack.supervision_state ADD COLUMN lead_department text, ADD COLUMN done_departments text[],
    ADD COLUMN done_at timestamptz[];
COMMENT ON COLUMN casetrack.supervision_state.lead_department IS 'the lead department (主办), one of departments';
COMMENT ON COLUMN casetrack.supervision_state.done_departments IS
    'departments that reported completion, in time order (done_at: when each first did)';
"""

DEPARTMENTS = """
CREATE VIEW public.supervision_departments AS
SELECT o.order_id, d.department,
       CASE WHEN s.lead_department IS NULL THEN 'addressed'
            WHEN d.department = s.lead_department THEN 'lead' ELSE 'co' END AS role,
       x.done_at AS completed_at, o.due_at,
       CASE
           WHEN o.due_at IS NULL OR o.status = 'cancelled' THEN false
           WHEN x.done_at IS NOT NULL THEN x.done_at > o.due_at
           WHEN o.status = 'completed' THEN o.completed_at > o.due_at
           ELSE now() >= o.due_at
       END AS overdue
FROM public.supervision_orders o
JOIN casetrack.supervision_state s ON s.order_id = o.order_id
JOIN casetrack.live_generations g ON g.projection = 'supervision' AND g.generation = s.generation
CROSS JOIN LATERAL unnest(o.departments) AS d(department)
LEFT JOIN LATERAL (
    SELECT u.done_at FROM unnest(s.done_departments, s.done_at) AS u(department, done_at)
    WHERE u.department = d.department
) x ON true;
COMMENT ON VIEW public.supervision_departments IS
    'One row per supervision order x addressed department: role (lead/co/addressed), own completion, overdue.';
GRANT SELECT ON public.supervision_departments TO casetrack_analyst, casetrack_officer, casetrack_writer;
"""

_OLD_PART = """    FROM public.supervision_orders s CROSS JOIN LATERAL unnest(s.departments) AS d(department)
    WHERE s.overdue
"""
_NEW_PART = """    FROM public.supervision_orders s JOIN public.supervision_departments d ON d.order_id = s.order_id
    WHERE d.overdue
"""
_OLD_ROLE = "            THEN 'office' ELSE 'lead' END AS role\n"
_NEW_ROLE = """            THEN 'office'
            WHEN i.aggregate = 'supervision' AND EXISTS (
                SELECT 1 FROM public.supervision_departments d
                WHERE d.order_id = i.subject_id AND d.department = i.department AND d.role = 'co')
            THEN 'co' ELSE 'lead' END AS role
"""


def upgrade() -> None:
    op.execute(COLUMNS)
    op.execute(DEPARTMENTS)
    text = _edit(_edit(_penalty_items_0014(), _OLD_PART, _NEW_PART), _OLD_ROLE, _NEW_ROLE)
    op.execute(text)


def downgrade() -> None:
    """Back to 0014: its penalty_items text, the view and the columns dropped."""
    op.execute(_penalty_items_0014())
    op.execute("DROP VIEW public.supervision_departments")
    op.execute(
        "ALTER TABLE casetrack.supervision_state DROP COLUMN lead_department, DROP COLUMN done_departments,"
        " DROP COLUMN done_at"
    )
