"""Reserved: figures (issue 14): reopen cycles, penalties by responsible department, disclosure clocks, caps, promises, calendar estimates.

A no-op until that work lands; the chain stays linear so that work in parallel does not fork it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
