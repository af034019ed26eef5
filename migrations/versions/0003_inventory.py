"""inventory: lot status 'recalled', lot decisions, stock adjustments, sanity checks

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import pharmacy.database

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Quantity = pharmacy.database.ExactDecimal(scale=4, precision=18)

INGREDIENT_CHECKS = [
    ("reorder_not_negative", "reorder_point IS NULL OR reorder_point >= 0"),
    ("molecular_weight_positive", "molecular_weight IS NULL OR molecular_weight > 0"),
    (
        "base_molecular_weight_positive",
        "base_molecular_weight IS NULL OR base_molecular_weight > 0",
    ),
    ("density_positive", "tapped_density_mg_per_ml IS NULL OR tapped_density_mg_per_ml > 0"),
]
LOT_CHECKS = [
    ("quantity_positive", "quantity_received > 0"),
    ("assay_positive", "assay_percent IS NULL OR assay_percent > 0"),
    ("water_not_negative", "water_percent IS NULL OR water_percent >= 0"),
    (
        "anhydrous_needs_water",
        "assay_basis IS NULL OR assay_basis <> 'anhydrous' OR water_percent IS NOT NULL",
    ),
]
BALANCE_CHECKS = [
    ("readability_positive", "readability_mg > 0"),
    ("mwq_positive", "mwq_mg > 0"),
]
OLD_STATUS = "status IN ('quarantined', 'released', 'rejected')"
NEW_STATUS = "status IN ('quarantined', 'released', 'rejected', 'recalled')"


def upgrade():
    with op.batch_alter_table("ingredient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capsule_colour", sa.String(length=30), nullable=True))
        for name, sql in INGREDIENT_CHECKS:
            batch_op.create_check_constraint(op.f(f"ck_ingredient_{name}"), sql)

    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("status_changed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_ingredient_lot_status_changed_by_id_user_account"),
            "user_account",
            ["status_changed_by_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f("ck_ingredient_lot_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ingredient_lot_status_known"), NEW_STATUS)
        for name, sql in LOT_CHECKS:
            batch_op.create_check_constraint(op.f(f"ck_ingredient_lot_{name}"), sql)

    with op.batch_alter_table("balance", schema=None) as batch_op:
        for name, sql in BALANCE_CHECKS:
            batch_op.create_check_constraint(op.f(f"ck_balance_{name}"), sql)

    op.create_table(
        "lot_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", Quantity, nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('spillage', 'damaged', 'count_correction', 'returned', 'other')",
            name=op.f("ck_lot_adjustment_kind_known"),
        ),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_lot_adjustment_quantity_not_zero")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["ingredient_lot.id"], name=op.f("fk_lot_adjustment_lot_id_ingredient_lot")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_lot_adjustment_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_adjustment")),
    )
    with op.batch_alter_table("lot_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_adjustment_lot_id"), ["lot_id"], unique=False)


def downgrade():
    with op.batch_alter_table("lot_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_adjustment_lot_id"))
    op.drop_table("lot_adjustment")

    with op.batch_alter_table("balance", schema=None) as batch_op:
        for name, _sql in reversed(BALANCE_CHECKS):
            batch_op.drop_constraint(op.f(f"ck_balance_{name}"), type_="check")

    # A recalled lot cannot be expressed in the old schema: it goes back to rejected.
    op.execute(
        "UPDATE ingredient_lot SET status = 'rejected' WHERE status = 'recalled'"
    )
    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        for name, _sql in reversed(LOT_CHECKS):
            batch_op.drop_constraint(op.f(f"ck_ingredient_lot_{name}"), type_="check")
        batch_op.drop_constraint(op.f("ck_ingredient_lot_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ingredient_lot_status_known"), OLD_STATUS)
        batch_op.drop_constraint(
            op.f("fk_ingredient_lot_status_changed_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("status_changed_by_id")
        batch_op.drop_column("status_changed_at")

    with op.batch_alter_table("ingredient", schema=None) as batch_op:
        for name, _sql in reversed(INGREDIENT_CHECKS):
            batch_op.drop_constraint(op.f(f"ck_ingredient_{name}"), type_="check")
        batch_op.drop_column("capsule_colour")
