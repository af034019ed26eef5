"""recall trace: batch_lot_usage (lot_id, batch_id), so a lot's batches are read in batch order
from the index alone (no visit of a thousand usage rows before counting their recipients)

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("batch_lot_usage", schema=None) as batch_op:
        # IF NOT EXISTS: the shared bench datasets got it by hand, ahead of the merge.
        batch_op.create_index(
            "ix_batch_lot_usage_lot_id_batch_id", ["lot_id", "batch_id"], if_not_exists=True
        )


def downgrade():
    with op.batch_alter_table("batch_lot_usage", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_lot_usage_lot_id_batch_id")
