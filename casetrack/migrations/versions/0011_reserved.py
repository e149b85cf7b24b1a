"""Reserved: free-text personal data (issue 18).

A no-op until that work lands; the chain stays linear so that work in parallel does not fork it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
