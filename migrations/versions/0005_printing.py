"""printing: print-log sanity checks; label stock codes as the labels package spells them

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHECKS = [
    ("copies_positive", "copies >= 1"),
    ("reprint_has_reason", "NOT reprint OR reason IS NOT NULL"),
]
# The foundation's default was spelled with underscores; labels.STOCKS uses hyphens.
OLD_CODES = {"thermal_4x2": "thermal-4x2", "thermal_3x2": "thermal-3x2", "avery_5163": "avery-5163"}


def upgrade():
    for old, new in OLD_CODES.items():
        op.execute(
            f"UPDATE pharmacy_profile SET default_label_stock = '{new}' "
            f"WHERE default_label_stock = '{old}'"
        )
    op.execute("UPDATE label_print SET reason = 'not recorded' WHERE reprint AND reason IS NULL")
    with op.batch_alter_table("label_print", schema=None) as batch_op:
        for name, condition in CHECKS:
            batch_op.create_check_constraint(op.f(f"ck_label_print_{name}"), condition)


def downgrade():
    with op.batch_alter_table("label_print", schema=None) as batch_op:
        for name, _condition in reversed(CHECKS):
            batch_op.drop_constraint(op.f(f"ck_label_print_{name}"), type_="check")
    for old, new in OLD_CODES.items():
        op.execute(
            f"UPDATE pharmacy_profile SET default_label_stock = '{old}' "
            f"WHERE default_label_stock = '{new}'"
        )
