"""bench devices: ingredient GTINs for container scans, balance serial port and protocol,
captured-or-typed weights, CUPS printers per label stock and each print job's outcome

Existing weights were all typed (there was no balance capture before): marked "typed".

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ingredient") as batch:
        batch.add_column(sa.Column("gtin", sa.String(length=14), nullable=True))
        batch.create_unique_constraint(op.f("uq_ingredient_gtin"), ["gtin"])
    with op.batch_alter_table("balance") as batch:
        batch.add_column(sa.Column("port", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("protocol", sa.String(length=10), nullable=True))
        batch.create_check_constraint(
            op.f("ck_balance_protocol_known"), "protocol IS NULL OR protocol IN ('mt-sics', 'sbi')"
        )
    with op.batch_alter_table("batch_lot_usage") as batch:
        batch.add_column(sa.Column("weight_source", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("container_scan", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE batch_lot_usage SET weight_source = 'typed' WHERE actual_quantity IS NOT NULL"
    )
    with op.batch_alter_table("label_print") as batch:
        batch.add_column(sa.Column("printer", sa.String(length=127), nullable=True))
        batch.add_column(sa.Column("job_id", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("job_status", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("job_message", sa.Text(), nullable=True))
    op.create_table(
        "label_printer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stock", sa.String(length=40), nullable=False),
        sa.Column("cups_printer", sa.String(length=127), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_printer")),
        sa.UniqueConstraint("stock", name=op.f("uq_label_printer_stock")),
    )


def downgrade():
    op.drop_table("label_printer")
    with op.batch_alter_table("label_print") as batch:
        for name in ("job_message", "job_status", "job_id", "printer"):
            batch.drop_column(name)
    with op.batch_alter_table("batch_lot_usage") as batch:
        batch.drop_column("container_scan")
        batch.drop_column("weight_source")
    with op.batch_alter_table("balance") as batch:
        batch.drop_constraint(op.f("ck_balance_protocol_known"), type_="check")
        batch.drop_column("protocol")
        batch.drop_column("port")
    with op.batch_alter_table("ingredient") as batch:
        batch.drop_constraint(op.f("uq_ingredient_gtin"), type_="unique")
        batch.drop_column("gtin")
