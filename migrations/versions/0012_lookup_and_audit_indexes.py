"""lookup and audit indexes, running stock: reversed phone digits for the phone look-up; audit
filter indexes; ingredient_lot.on_hand


A search by the last digits of a phone number ("555-0191") was `phone_digits LIKE '%5550191'`,
which no index serves: every patient was read (50-62 ms at 1,000,000 orders). The digits are
now also kept reversed, so "ends with" is a prefix range on an indexed column; binary collation
("C") on PostgreSQL as for name_key. Existing rows are filled in here.

The audit trail pages newest first (ORDER BY id DESC) under a filter on the actor, the action
or the entity: an index on (filter, id) reads one page instead of sorting every match.

Batch start checked stock by summing every past use of each lot, so it slowed as a lot was
used. The lot now carries its stock on hand as a running quantity (kept by the app in the same
transaction as every movement; `flask stock verify` compares it with the sum). Existing lots are
filled in from their movements here. On SQLite the quantities are scaled integers of the same
scale, so the sum in SQL is exact.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import pharmacy.database

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    column_type = sa.String(length=40, collation="C") if pg else sa.String(length=40)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone_reversed", column_type, nullable=False, server_default="")
        )
    patient = sa.table(
        "patient", sa.column("id"), sa.column("phone_digits"), sa.column("phone_reversed")
    )
    if pg:
        op.execute("UPDATE patient SET phone_reversed = reverse(phone_digits)")
    else:
        conn = op.get_bind()
        rows = conn.execute(sa.select(patient.c.id, patient.c.phone_digits)).all()
        for start in range(0, len(rows), 5000):
            conn.execute(
                patient.update()
                .where(patient.c.id == sa.bindparam("pid"))
                .values(phone_reversed=sa.bindparam("rev")),
                [{"pid": i, "rev": (d or "")[::-1]} for i, d in rows[start : start + 5000]],
            )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.alter_column("phone_reversed", server_default=None, existing_type=column_type)
        batch_op.create_index("ix_patient_phone_reversed", ["phone_reversed"], unique=False)
    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "on_hand", pharmacy.database.ExactDecimal(scale=4, precision=18), nullable=True
            )
        )
    op.execute(RUNNING_STOCK_SQL)
    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        batch_op.alter_column(
            "on_hand",
            nullable=False,
            existing_type=pharmacy.database.ExactDecimal(scale=4, precision=18),
        )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_actor_id", ["actor", "id"], unique=False)
        batch_op.create_index("ix_audit_event_action_id", ["action", "id"], unique=False)
        batch_op.create_index("ix_audit_event_entity_id_order", ["entity", "id"], unique=False)
    if pg:
        op.execute("ANALYZE patient")


RUNNING_STOCK_SQL = """UPDATE ingredient_lot SET on_hand = quantity_received
    + COALESCE((SELECT SUM(a.quantity) FROM lot_adjustment a WHERE a.lot_id = ingredient_lot.id), 0)
    - COALESCE((SELECT SUM(COALESCE(u.actual_quantity, u.planned_quantity))
                FROM batch_lot_usage u WHERE u.lot_id = ingredient_lot.id), 0)"""


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_entity_id_order")
        batch_op.drop_index("ix_audit_event_action_id")
        batch_op.drop_index("ix_audit_event_actor_id")
    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        batch_op.drop_column("on_hand")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_phone_reversed")
        batch_op.drop_column("phone_reversed")
