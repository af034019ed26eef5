"""Records an inspector asks for: attached documents (the original prescription, a lot's
certificate of analysis).

An attachment's bytes live outside the database (ATTACHMENTS_DIR), named by their SHA-256; the
row keeps the checksum, size and detected type so a file changed on disk is noticed when read.
Rows are never edited or deleted: a replacement is a new version of the same kind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base, utcnow

ATTACHMENT_KINDS = ("original_prescription", "certificate_of_analysis")
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/tiff")


class Attachment(Base):
    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint(
            "(prescription_id IS NOT NULL AND lot_id IS NULL AND kind = 'original_prescription')"
            " OR (lot_id IS NOT NULL AND prescription_id IS NULL"
            " AND kind = 'certificate_of_analysis')",
            name="one_owner_of_its_kind",
        ),
        CheckConstraint(
            "content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'image/tiff')",
            name="content_type_known",
        ),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        CheckConstraint("version >= 1", name="version_positive"),
        # One owner per row, so these two keep each owner's versions unique (NULLs never clash).
        UniqueConstraint("prescription_id", "version"),
        UniqueConstraint("lot_id", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescription.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("ingredient_lot.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
