"""handout: the pharmacist's final check, label scans, hand-out with counselling; findings cleared

An order filled from a released batch (ready) is now checked by a pharmacist (final_check,
order status "checked") and handed out (handout, "dispensed") only after its label was printed
and scanned (label_scan) or a pharmacist recorded why not, with the offer to counsel.
Orders already dispensed before this migration keep no hand-out row (nothing is invented).

screening_finding.cleared_at: a finding that screening again no longer produces stops blocking.

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "final_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compared", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["user_account.id"],
            name=op.f("fk_final_check_checked_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["rx_order.id"], name=op.f("fk_final_check_order_id_rx_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_final_check")),
    )
    op.create_index(op.f("ix_final_check_order_id"), "final_check", ["order_id"], unique=False)
    op.create_table(
        "label_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("label_code", sa.String(length=40), nullable=False),
        sa.Column("batch_code", sa.String(length=60), nullable=True),
        sa.Column("scanned_by_id", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["rx_order.id"], name=op.f("fk_label_scan_order_id_rx_order")
        ),
        sa.ForeignKeyConstraint(
            ["scanned_by_id"],
            ["user_account.id"],
            name=op.f("fk_label_scan_scanned_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_scan")),
    )
    op.create_index(op.f("ix_label_scan_order_id"), "label_scan", ["order_id"], unique=False)
    op.create_table(
        "handout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("label_print_id", sa.Integer(), nullable=False),
        sa.Column("label_scan_id", sa.Integer(), nullable=True),
        sa.Column("scan_waived_reason", sa.Text(), nullable=True),
        sa.Column("scan_waived_by_id", sa.Integer(), nullable=True),
        sa.Column("counsel_outcome", sa.String(length=10), nullable=False),
        sa.Column("counselled_by_id", sa.Integer(), nullable=False),
        sa.Column("counsel_notes", sa.Text(), nullable=False),
        sa.Column("handed_out_by_id", sa.Integer(), nullable=False),
        sa.Column("handed_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "counsel_outcome IN ('accepted', 'declined')",
            name=op.f("ck_handout_counsel_outcome_known"),
        ),
        sa.CheckConstraint("method IN ('pickup', 'shipped')", name=op.f("ck_handout_method_known")),
        sa.CheckConstraint(
            "label_scan_id IS NOT NULL OR (scan_waived_reason IS NOT NULL "
            "AND scan_waived_by_id IS NOT NULL)",
            name=op.f("ck_handout_scanned_or_waived"),
        ),
        sa.ForeignKeyConstraint(
            ["counselled_by_id"],
            ["user_account.id"],
            name=op.f("fk_handout_counselled_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["handed_out_by_id"],
            ["user_account.id"],
            name=op.f("fk_handout_handed_out_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["label_print_id"],
            ["label_print.id"],
            name=op.f("fk_handout_label_print_id_label_print"),
        ),
        sa.ForeignKeyConstraint(
            ["label_scan_id"], ["label_scan.id"], name=op.f("fk_handout_label_scan_id_label_scan")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["rx_order.id"], name=op.f("fk_handout_order_id_rx_order")
        ),
        sa.ForeignKeyConstraint(
            ["scan_waived_by_id"],
            ["user_account.id"],
            name=op.f("fk_handout_scan_waived_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handout")),
        sa.UniqueConstraint("order_id", name=op.f("uq_handout_order_id")),
    )
    with op.batch_alter_table("screening_finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("screening_finding", schema=None) as batch_op:
        batch_op.drop_column("cleared_at")
    op.drop_table("handout")
    op.drop_index(op.f("ix_label_scan_order_id"), table_name="label_scan")
    op.drop_table("label_scan")
    op.drop_index(op.f("ix_final_check_order_id"), table_name="final_check")
    op.drop_table("final_check")
