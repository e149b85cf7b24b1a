"""Let the writer role check the schema revision (the consumer refuses to run on an unmigrated database).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("GRANT SELECT ON public.alembic_version TO casetrack_writer")


def downgrade() -> None:
    op.execute("REVOKE SELECT ON public.alembic_version FROM casetrack_writer")
