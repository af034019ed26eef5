"""batches: recall status and fields, orders a batch serves, weighing details, sanity checks

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import pharmacy.database  # noqa: F401  (ExactDecimal columns in earlier revisions)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_STATUS = "status IN ('in_progress', 'awaiting_check', 'released', 'rejected')"
NEW_STATUS = "status IN ('in_progress', 'awaiting_check', 'released', 'rejected', 'recalled')"
BATCH_CHECKS = [
    ("units_planned_positive", "units_planned > 0"),
    ("units_made_not_negative", "units_made IS NULL OR units_made >= 0"),
    (
        "stock_only_when_released",
        "units_remaining = 0 OR status IN ('released', 'recalled')",
    ),
]
USAGE_CHECKS = [
    ("planned_positive", "planned_quantity > 0"),
    ("actual_positive", "actual_quantity IS NULL OR actual_quantity > 0"),
]


def upgrade():
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recalled_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recall_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_batch_recalled_by_id_user_account"), "user_account", ["recalled_by_id"], ["id"]
        )
        batch_op.drop_constraint(op.f("ck_batch_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_batch_status_known"), NEW_STATUS)
        for name, sql in BATCH_CHECKS:
            batch_op.create_check_constraint(op.f(f"ck_batch_{name}"), sql)
        batch_op.create_index("ix_batch_formula_day", ["formula_id", "compounded_on"], unique=False)

    with op.batch_alter_table("batch_lot_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("balance_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("weighed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("weighed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_batch_lot_usage_balance_id_balance"), "balance", ["balance_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_batch_lot_usage_weighed_by_id_user_account"),
            "user_account",
            ["weighed_by_id"],
            ["id"],
        )
        for name, sql in USAGE_CHECKS:
            batch_op.create_check_constraint(op.f(f"ck_batch_lot_usage_{name}"), sql)

    with op.batch_alter_table("dispense", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_dispense_quantity_positive"), "quantity > 0")

    op.create_table(
        "batch_order",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_batch_order_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["rx_order.id"], name=op.f("fk_batch_order_order_id_rx_order")
        ),
        sa.PrimaryKeyConstraint("batch_id", "order_id", name=op.f("pk_batch_order")),
    )
    with op.batch_alter_table("batch_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_order_order_id"), ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("batch_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_order_order_id"))
    op.drop_table("batch_order")

    with op.batch_alter_table("dispense", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_dispense_quantity_positive"), type_="check")

    with op.batch_alter_table("batch_lot_usage", schema=None) as batch_op:
        for name, _sql in reversed(USAGE_CHECKS):
            batch_op.drop_constraint(op.f(f"ck_batch_lot_usage_{name}"), type_="check")
        batch_op.drop_constraint(
            op.f("fk_batch_lot_usage_weighed_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("fk_batch_lot_usage_balance_id_balance"), type_="foreignkey")
        batch_op.drop_column("weighed_at")
        batch_op.drop_column("weighed_by_id")
        batch_op.drop_column("balance_id")

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_formula_day")
        for name, _sql in reversed(BATCH_CHECKS):
            batch_op.drop_constraint(op.f(f"ck_batch_{name}"), type_="check")
        batch_op.drop_constraint(op.f("ck_batch_status_known"), type_="check")
    # A recalled batch cannot be expressed in the old schema: it goes back to rejected.
    op.execute("UPDATE batch SET status = 'rejected' WHERE status = 'recalled'")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_batch_status_known"), OLD_STATUS)
        batch_op.drop_constraint(op.f("fk_batch_recalled_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("recall_reason")
        batch_op.drop_column("recalled_by_id")
        batch_op.drop_column("recalled_at")
        batch_op.drop_column("submitted_at")
