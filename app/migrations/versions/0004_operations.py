"""Operations support (replay, DLQ tooling)

* A BRIN index on ``event_store.seq``: a rebuild from the event store folds again the subjects with events
  stored after its cut (``seq > cut``); BRIN suits an append-only, monotonic column and costs next to nothing
  on the consumer's insert path, unlike a B-tree.
* Dead-letter handling: where a letter was re-published to (``republished_as``: topic/partition/offset), and
  letters an operator decided not to re-publish (``discarded_at`` with a ``resolution`` note).
* A partial index for the pending letters (what ``casetrack_dead_letters_pending`` counts).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE INDEX event_store_seq_brin ON casetrack.event_store USING brin (seq);

ALTER TABLE casetrack.dead_letters
    ADD COLUMN republished_as text,
    ADD COLUMN discarded_at   timestamptz,
    ADD COLUMN resolution     text;
COMMENT ON COLUMN casetrack.dead_letters.republished_as IS
    'topic/partition/offset of the re-published record (casetrack dlq republish)';
COMMENT ON COLUMN casetrack.dead_letters.resolution IS
    'operator note for a discarded letter (casetrack dlq discard); never personal data';
CREATE INDEX dead_letters_pending ON casetrack.dead_letters (topic, reason)
    WHERE republished_at IS NULL AND discarded_at IS NULL;
"""

DOWNGRADE = """
DROP INDEX IF EXISTS casetrack.dead_letters_pending;
ALTER TABLE casetrack.dead_letters
    DROP COLUMN IF EXISTS resolution,
    DROP COLUMN IF EXISTS discarded_at,
    DROP COLUMN IF EXISTS republished_as;
DROP INDEX IF EXISTS casetrack.event_store_seq_brin;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
