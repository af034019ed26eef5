"""prescriptions: screening findings, Rx number counter, patient search keys, order workflow

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import pharmacy.database  # noqa: F401  (kept for the types of later revisions)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _name_key(last_name, first_name):
    return " ".join(f"{last_name or ''} {first_name or ''}".casefold().split())


def _phone_digits(phone):
    return "".join(ch for ch in (phone or "") if ch.isdigit())


def upgrade():
    op.create_table(
        "sequence_counter",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sequence_counter")),
    )
    op.create_table(
        "screening_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prescription_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_by_id", sa.Integer(), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('warning', 'contraindicated', 'refused')",
            name=op.f("ck_screening_finding_severity_known"),
        ),
        sa.ForeignKeyConstraint(
            ["overridden_by_id"],
            ["user_account.id"],
            name=op.f("fk_screening_finding_overridden_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescription.id"],
            name=op.f("fk_screening_finding_prescription_id_prescription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_finding")),
    )
    with op.batch_alter_table("screening_finding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_finding_prescription_id"), ["prescription_id"], unique=False
        )

    # Patient search keys: added nullable, filled from the existing rows, then required.
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=170), nullable=True))
        batch_op.add_column(sa.Column("phone_digits", sa.String(length=40), nullable=True))
    conn = op.get_bind()
    patient = sa.table(
        "patient",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("phone", sa.String),
        sa.column("name_key", sa.String),
        sa.column("phone_digits", sa.String),
    )
    rows = conn.execute(
        sa.select(patient.c.id, patient.c.first_name, patient.c.last_name, patient.c.phone)
    ).all()
    for row in rows:
        conn.execute(
            patient.update()
            .where(patient.c.id == row.id)
            .values(
                name_key=_name_key(row.last_name, row.first_name),
                phone_digits=_phone_digits(row.phone),
            )
        )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=170), nullable=False)
        batch_op.alter_column("phone_digits", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_index(batch_op.f("ix_patient_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_patient_phone_digits"), ["phone_digits"], unique=False)

    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("held_from", sa.String(length=24), nullable=True))

    with op.batch_alter_table("rx_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promised_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("held_from", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("dispensed_via", sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_rx_order_dispensed_via_known"),
            "dispensed_via IS NULL OR dispensed_via IN ('pickup', 'shipped')",
        )
        batch_op.create_index("ix_rx_order_status_id", ["status", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("rx_order", schema=None) as batch_op:
        batch_op.drop_index("ix_rx_order_status_id")
        batch_op.drop_constraint(op.f("ck_rx_order_dispensed_via_known"), type_="check")
        batch_op.drop_column("dispensed_via")
        batch_op.drop_column("held_from")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("promised_on")

    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_column("held_from")
        batch_op.drop_column("status_reason")

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_phone_digits"))
        batch_op.drop_index(batch_op.f("ix_patient_name_key"))
        batch_op.drop_column("phone_digits")
        batch_op.drop_column("name_key")

    with op.batch_alter_table("screening_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_finding_prescription_id"))
    op.drop_table("screening_finding")
    op.drop_table("sequence_counter")
