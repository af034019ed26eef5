"""Records an inspector asks for: attached documents (the original prescription, a lot's
certificate of analysis), storage temperatures and holds, cleaning, balance checks and
calibrations.

An attachment's bytes live outside the database (ATTACHMENTS_DIR), named by their SHA-256; the
row keeps the checksum, size and detected type so a file changed on disk is noticed when read.
Rows are never edited or deleted: a replacement is a new version of the same kind.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base, utcnow
from .types import Quantity

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


class StorageUnit(Base):
    """A refrigerator or a room where lots and batches are kept."""

    __tablename__ = "storage_unit"
    __table_args__ = (CheckConstraint("kind IN ('refrigerator', 'room')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TemperatureReading(Base):
    __tablename__ = "temperature_reading"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_range', 'allowed_excursion', 'excursion')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("storage_unit.id"), index=True)
    celsius: Mapped[Quantity]
    status: Mapped[str] = mapped_column(String(20))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(String(200))


class StoragePlacement(Base):
    """Where a lot or a batch is kept: the row with no `removed_at` is the current place."""

    __tablename__ = "storage_placement"
    __table_args__ = (
        CheckConstraint("(lot_id IS NULL) <> (batch_id IS NULL)", name="lot_or_batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("storage_unit.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("ingredient_lot.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StorageHold(Base):
    """A lot or batch held after a temperature excursion until a pharmacist releases it back
    or rejects it, with a reason."""

    __tablename__ = "storage_hold"
    __table_args__ = (
        CheckConstraint("(lot_id IS NULL) <> (batch_id IS NULL)", name="lot_or_batch"),
        CheckConstraint(
            "decision IS NULL OR decision IN ('release', 'reject')", name="decision_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reading_id: Mapped[int] = mapped_column(ForeignKey("temperature_reading.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("ingredient_lot.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    status_before: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CleaningRecord(Base):
    __tablename__ = "cleaning_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(80))
    agent: Mapped[str] = mapped_column(String(80))
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(String(200))


class BalanceCheck(Base):
    """The daily check with a check weight; a failure takes the balance out of service."""

    __tablename__ = "balance_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    balance_id: Mapped[int] = mapped_column(ForeignKey("balance.id"), index=True)
    nominal_mg: Mapped[Quantity]
    reading_mg: Mapped[Quantity]
    tolerance_mg: Mapped[Quantity]
    passed: Mapped[bool] = mapped_column(Boolean)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class BalanceCalibration(Base):
    """A calibration by a service provider; sets the balance's next due date."""

    __tablename__ = "balance_calibration"

    id: Mapped[int] = mapped_column(primary_key=True)
    balance_id: Mapped[int] = mapped_column(ForeignKey("balance.id"), index=True)
    calibrated_on: Mapped[date] = mapped_column(Date)
    next_due: Mapped[date] = mapped_column(Date)
    performed_by: Mapped[str] = mapped_column(String(120))
    certificate: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingRecord(Base):
    """A person's training for a task (initial, then yearly), signed off by a pharmacist or an
    administrator. Never edited: a correction is a new record."""

    __tablename__ = "training_record"
    __table_args__ = (
        CheckConstraint("task IN ('compounding', 'final_check', 'release')", name="task_known"),
        CheckConstraint("kind IN ('initial', 'annual')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    task: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    completed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
