"""records: attached documents (original prescription, certificate of analysis)

The bytes live outside the database (ATTACHMENTS_DIR) named by their SHA-256; each row keeps
checksum, size and the type detected from the content. Rows are never edited or deleted: a
replacement is the next version. Storage units with temperature readings, what is stored where,
holds after an excursion, the cleaning log, balance daily checks and calibrations, and
training records (compounding, final check, release; initial then yearly). No training is
invented for existing users: after this upgrade a pharmacist or administrator records it on the
Training page before anyone compounds, checks or releases.
No existing rows need migrating.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import pharmacy.database

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("prescription_id", sa.Integer(), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(prescription_id IS NOT NULL AND lot_id IS NULL AND kind = 'original_prescription')"
            " OR (lot_id IS NOT NULL AND prescription_id IS NULL"
            " AND kind = 'certificate_of_analysis')",
            name=op.f("ck_attachment_one_owner_of_its_kind"),
        ),
        sa.CheckConstraint(
            "content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'image/tiff')",
            name=op.f("ck_attachment_content_type_known"),
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_attachment_size_positive")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_attachment_version_positive")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["ingredient_lot.id"], name=op.f("fk_attachment_lot_id_ingredient_lot")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescription.id"],
            name=op.f("fk_attachment_prescription_id_prescription"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_attachment_uploaded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        sa.UniqueConstraint(
            "prescription_id", "version", name=op.f("uq_attachment_prescription_id_version")
        ),
        sa.UniqueConstraint("lot_id", "version", name=op.f("uq_attachment_lot_id_version")),
    )
    op.create_index(op.f("ix_attachment_lot_id"), "attachment", ["lot_id"], unique=False)
    op.create_index(
        op.f("ix_attachment_prescription_id"), "attachment", ["prescription_id"], unique=False
    )

    op.create_table(
        "storage_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('refrigerator', 'room')", name=op.f("ck_storage_unit_kind_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_unit")),
        sa.UniqueConstraint("name", name=op.f("uq_storage_unit_name")),
    )
    op.create_table(
        "balance_calibration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("balance_id", sa.Integer(), nullable=False),
        sa.Column("calibrated_on", sa.Date(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("performed_by", sa.String(length=120), nullable=False),
        sa.Column("certificate", sa.String(length=80), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["balance_id"], ["balance.id"], name=op.f("fk_balance_calibration_balance_id_balance")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_balance_calibration_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_calibration")),
    )
    with op.batch_alter_table("balance_calibration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balance_calibration_balance_id"), ["balance_id"], unique=False
        )

    op.create_table(
        "balance_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("balance_id", sa.Integer(), nullable=False),
        sa.Column(
            "nominal_mg", pharmacy.database.ExactDecimal(scale=4, precision=18), nullable=False
        ),
        sa.Column(
            "reading_mg", pharmacy.database.ExactDecimal(scale=4, precision=18), nullable=False
        ),
        sa.Column(
            "tolerance_mg", pharmacy.database.ExactDecimal(scale=4, precision=18), nullable=False
        ),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["balance_id"], ["balance.id"], name=op.f("fk_balance_check_balance_id_balance")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["user_account.id"],
            name=op.f("fk_balance_check_checked_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_check")),
    )
    with op.batch_alter_table("balance_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balance_check_balance_id"), ["balance_id"], unique=False
        )

    op.create_table(
        "cleaning_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=80), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["user_account.id"],
            name=op.f("fk_cleaning_record_done_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cleaning_record")),
    )
    op.create_table(
        "temperature_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("celsius", pharmacy.database.ExactDecimal(scale=4, precision=18), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_range', 'allowed_excursion', 'excursion')",
            name=op.f("ck_temperature_reading_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["read_by_id"],
            ["user_account.id"],
            name=op.f("fk_temperature_reading_read_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["storage_unit.id"],
            name=op.f("fk_temperature_reading_unit_id_storage_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_temperature_reading")),
    )
    with op.batch_alter_table("temperature_reading", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_temperature_reading_unit_id"), ["unit_id"], unique=False
        )

    op.create_table(
        "storage_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reading_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("status_before", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('release', 'reject')",
            name=op.f("ck_storage_hold_decision_known"),
        ),
        sa.CheckConstraint(
            "(lot_id IS NULL) <> (batch_id IS NULL)", name=op.f("ck_storage_hold_lot_or_batch")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_storage_hold_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_storage_hold_decided_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["ingredient_lot.id"], name=op.f("fk_storage_hold_lot_id_ingredient_lot")
        ),
        sa.ForeignKeyConstraint(
            ["reading_id"],
            ["temperature_reading.id"],
            name=op.f("fk_storage_hold_reading_id_temperature_reading"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_hold")),
    )
    with op.batch_alter_table("storage_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storage_hold_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_storage_hold_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_storage_hold_reading_id"), ["reading_id"], unique=False
        )

    op.create_table(
        "storage_placement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(lot_id IS NULL) <> (batch_id IS NULL)", name=op.f("ck_storage_placement_lot_or_batch")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_storage_placement_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["ingredient_lot.id"],
            name=op.f("fk_storage_placement_lot_id_ingredient_lot"),
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"],
            ["user_account.id"],
            name=op.f("fk_storage_placement_placed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["storage_unit.id"], name=op.f("fk_storage_placement_unit_id_storage_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_placement")),
    )
    with op.batch_alter_table("storage_placement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_placement_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_storage_placement_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_storage_placement_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("notes", sa.String(length=200), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('initial', 'annual')", name=op.f("ck_training_record_kind_known")
        ),
        sa.CheckConstraint(
            "task IN ('compounding', 'final_check', 'release')",
            name=op.f("ck_training_record_task_known"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_training_record_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_training_record_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_record")),
    )
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_record_user_id"), ["user_id"], unique=False)


def downgrade():

    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_record_user_id"))

    op.drop_table("training_record")

    with op.batch_alter_table("storage_placement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_placement_unit_id"))
        batch_op.drop_index(batch_op.f("ix_storage_placement_lot_id"))
        batch_op.drop_index(batch_op.f("ix_storage_placement_batch_id"))

    op.drop_table("storage_placement")
    with op.batch_alter_table("storage_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_hold_reading_id"))
        batch_op.drop_index(batch_op.f("ix_storage_hold_lot_id"))
        batch_op.drop_index(batch_op.f("ix_storage_hold_batch_id"))

    op.drop_table("storage_hold")
    with op.batch_alter_table("temperature_reading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_temperature_reading_unit_id"))

    op.drop_table("temperature_reading")
    op.drop_table("cleaning_record")
    with op.batch_alter_table("balance_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_check_balance_id"))

    op.drop_table("balance_check")
    with op.batch_alter_table("balance_calibration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_calibration_balance_id"))

    op.drop_table("balance_calibration")
    op.drop_table("storage_unit")
    op.drop_index(op.f("ix_attachment_prescription_id"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_lot_id"), table_name="attachment")
    op.drop_table("attachment")
