"""records: attached documents (original prescription, certificate of analysis)

The bytes live outside the database (ATTACHMENTS_DIR) named by their SHA-256; each row keeps
checksum, size and the type detected from the content. Rows are never edited or deleted: a
replacement is the next version. No existing rows need migrating.

Revision ID: 0015
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0010"
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


def downgrade():
    op.drop_index(op.f("ix_attachment_prescription_id"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_lot_id"), table_name="attachment")
    op.drop_table("attachment")
