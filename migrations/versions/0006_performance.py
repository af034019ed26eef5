"""performance: binary-collated patient name key for indexed prefix ranges; drop a duplicate index

The order look-up finds a patient-name prefix with a range on patient.name_key
(name_key >= 'ellis ma' AND name_key < 'ellis mb'), which the existing ix_patient_name_key
btree serves. That range equals "starts with" only in binary order: SQLite's default, and on
PostgreSQL the "C" collation (a locale collation such as en_US ignores spaces and punctuation
at the first level). name_key holds case-folded text, so "C" changes no result, only the order.

rx_order.status had two indexes, (status) and (status, id); the second serves every query the
first did (the queue board pages by status then id), so the first only slowed writes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "patient",
            "name_key",
            type_=sa.String(length=170, collation="C"),
            existing_type=sa.String(length=170),
            existing_nullable=False,
        )
        # Changing the column's type drops its statistics; without them the planner guesses
        # the range's selectivity and may walk every order instead (seen: 180 ms, not 1.5 ms).
        op.execute("ANALYZE patient")
    with op.batch_alter_table("rx_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_order_status"))


def downgrade():
    with op.batch_alter_table("rx_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rx_order_status"), ["status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "patient",
            "name_key",
            type_=sa.String(length=170),
            existing_type=sa.String(length=170, collation="C"),
            existing_nullable=False,
        )
        op.execute("ANALYZE patient")
