"""lookup and audit indexes: reversed phone digits for the phone look-up; audit filter indexes

A search by the last digits of a phone number ("555-0191") was `phone_digits LIKE '%5550191'`,
which no index serves: every patient was read (50-62 ms at 1,000,000 orders). The digits are
now also kept reversed, so "ends with" is a prefix range on an indexed column; binary collation
("C") on PostgreSQL as for name_key. Existing rows are filled in here.

The audit trail pages newest first (ORDER BY id DESC) under a filter on the actor, the action
or the entity: an index on (filter, id) reads one page instead of sorting every match.

Revision ID: 0012
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    column_type = sa.String(length=40, collation="C") if pg else sa.String(length=40)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone_reversed", column_type, nullable=False, server_default="")
        )
    patient = sa.table("patient", sa.column("id"), sa.column("phone_digits"), sa.column("phone_reversed"))
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
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_actor_id", ["actor", "id"], unique=False)
        batch_op.create_index("ix_audit_event_action_id", ["action", "id"], unique=False)
        batch_op.create_index("ix_audit_event_entity_id_order", ["entity", "id"], unique=False)
    if pg:
        op.execute("ANALYZE patient")


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_entity_id_order")
        batch_op.drop_index("ix_audit_event_action_id")
        batch_op.drop_index("ix_audit_event_actor_id")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_phone_reversed")
        batch_op.drop_column("phone_reversed")
