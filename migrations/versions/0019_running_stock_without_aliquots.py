"""running stock: sum it again without the aliquot lines

0012 filled `ingredient_lot.on_hand` by subtracting every usage line, aliquot lines included.
An aliquot is weighed out of the stock mixture, whose API line already took it from the lot,
so it takes nothing (NOT_FROM_STOCK_ROLES): a lot that had fed an aliquot batch before 0012
was left showing less stock than it holds, and `flask stock verify` named it. Summed again
here as inventory.verify_running_stock derives it; for every other lot the value is unchanged.

Revision ID: 0019
Revises: 0017
"""

from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

RUNNING_STOCK_SQL = """UPDATE ingredient_lot SET on_hand = quantity_received
    + COALESCE((SELECT SUM(a.quantity) FROM lot_adjustment a WHERE a.lot_id = ingredient_lot.id), 0)
    - COALESCE((SELECT SUM(COALESCE(u.actual_quantity, u.planned_quantity))
                FROM batch_lot_usage u
                WHERE u.lot_id = ingredient_lot.id AND u.role <> 'aliquot'), 0)"""


def upgrade():
    op.execute(RUNNING_STOCK_SQL)


def downgrade():
    pass  # the corrected quantity is right under the older schema too
