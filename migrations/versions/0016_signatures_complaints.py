"""signatures and complaints: electronic signatures (21 CFR Part 11 style); complaints and
adverse events linked to a batch or an order, with the pharmacist's review

Existing verifications, approvals, releases and final checks keep no signature row: they were
made before signing existed, and nothing is invented for them.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "electronic_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=120), nullable=False),
        sa.Column("signer_initials", sa.String(length=8), nullable=False),
        sa.Column("meaning_code", sa.String(length=20), nullable=False),
        sa.Column("meaning", sa.String(length=120), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["user_account.id"],
            name=op.f("fk_electronic_signature_signed_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_electronic_signature")),
    )
    op.create_index(
        "ix_electronic_signature_record",
        "electronic_signature",
        ["entity", "entity_id"],
        unique=False,
    )
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=120), nullable=False),
        sa.Column("reporter_role", sa.String(length=40), nullable=False),
        sa.Column("reporter_contact", sa.String(length=200), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("review_action", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "batch_id IS NOT NULL OR order_id IS NOT NULL", name=op.f("ck_complaint_linked")
        ),
        sa.CheckConstraint(
            "kind IN ('complaint', 'adverse_event')", name=op.f("ck_complaint_kind_known")
        ),
        sa.CheckConstraint(
            "severity IN ('mild', 'moderate', 'severe', 'life_threatening')",
            name=op.f("ck_complaint_severity_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'reviewed')", name=op.f("ck_complaint_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_complaint_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["rx_order.id"], name=op.f("fk_complaint_order_id_rx_order")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_complaint_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_complaint_reviewed_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
    )
    op.create_index(op.f("ix_complaint_batch_id"), "complaint", ["batch_id"], unique=False)
    op.create_index(op.f("ix_complaint_order_id"), "complaint", ["order_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_complaint_order_id"), table_name="complaint")
    op.drop_index(op.f("ix_complaint_batch_id"), table_name="complaint")
    op.drop_table("complaint")
    op.drop_index("ix_electronic_signature_record", table_name="electronic_signature")
    op.drop_table("electronic_signature")
