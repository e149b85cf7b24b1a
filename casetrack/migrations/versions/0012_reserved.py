"""Reserved: published reports (issue 19).

A no-op until that work lands; the chain stays linear so that work in parallel does not fork it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
