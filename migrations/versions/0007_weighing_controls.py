"""weighing controls: API weighing tolerance per formula, pharmacist sign-off of an API weight
outside it, documented acceptance of an API lot's potency outside 98-102 %, and the reason a
fill was allowed from a batch whose BUD ends before the days' supply.

Every new column is nullable: existing formulas read a missing API tolerance as the 5 % default;
nothing else has a value before this revision.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import pharmacy.database

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Quantity = pharmacy.database.ExactDecimal(scale=4, precision=18)


def upgrade():
    with op.batch_alter_table("formula", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_tolerance_percent", Quantity, nullable=True))
    with op.batch_alter_table("batch_lot_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_off_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sign_off_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_batch_lot_usage_signed_off_by_id_user_account"),
            "user_account",
            ["signed_off_by_id"],
            ["id"],
        )
    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("potency_accepted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("potency_accepted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("potency_acceptance", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ingredient_lot_potency_accepted_by_id_user_account"),
            "user_account",
            ["potency_accepted_by_id"],
            ["id"],
        )
    with op.batch_alter_table("dispense", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bud_short_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("dispense", schema=None) as batch_op:
        batch_op.drop_column("bud_short_reason")
    with op.batch_alter_table("ingredient_lot", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ingredient_lot_potency_accepted_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("potency_acceptance")
        batch_op.drop_column("potency_accepted_at")
        batch_op.drop_column("potency_accepted_by_id")
    with op.batch_alter_table("batch_lot_usage", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_batch_lot_usage_signed_off_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("sign_off_reason")
        batch_op.drop_column("signed_off_at")
        batch_op.drop_column("signed_off_by_id")
    with op.batch_alter_table("formula", schema=None) as batch_op:
        batch_op.drop_column("api_tolerance_percent")
