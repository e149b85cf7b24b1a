"""Leave room in the state tables' pages so that re-writing a state is a HOT update.

A case's state row is re-written by most batches that carry one of its events (about 0.5 state writes per
event). With the default fillfactor of 100 the new row version lands on another page, and the primary-key
index gets a new entry every time. At 70 % the new version usually fits in the same page (only the primary
key is indexed, and it never changes), so PostgreSQL skips the index and prunes the old version in place.

Applies to pages written from now on; an existing table takes it fully after ``VACUUM FULL`` (or a replay,
which writes a new generation).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE casetrack.case_state SET (fillfactor = 70);
ALTER TABLE casetrack.supervision_state SET (fillfactor = 70);
ALTER TABLE casetrack.rectification_state SET (fillfactor = 70);
"""

DOWNGRADE = """
ALTER TABLE casetrack.case_state RESET (fillfactor);
ALTER TABLE casetrack.supervision_state RESET (fillfactor);
ALTER TABLE casetrack.rectification_state RESET (fillfactor);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
