"""After the fill: the pharmacist's final check, label scans, and the hand-out with counselling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .clinical import Order
from .people import User
from .types import Timestamp

COUNSEL_OUTCOMES = ("accepted", "declined")


class FinalCheck(Base):
    """A pharmacist compared product, label and prescription for one order (ready -> checked).

    `compared` keeps what was on the screen (batches, strengths, BUD, label text) so the record
    shows what the pharmacist actually checked, not what the data say later."""

    __tablename__ = "final_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("rx_order.id"), index=True)
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[Timestamp]
    compared: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship()
    checked_by: Mapped[User] = relationship()


class LabelScan(Base):
    """A dispensing label's barcode scanned and matched to its order (services.scan)."""

    __tablename__ = "label_scan"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("rx_order.id"), index=True)
    label_code: Mapped[str] = mapped_column(String(40))
    batch_code: Mapped[str | None] = mapped_column(String(60))
    scanned_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scanned_at: Mapped[Timestamp]

    scanned_by: Mapped[User] = relationship()


class Handout(Base):
    """The order left the pharmacy (checked -> dispensed): which printed label, its scan or a
    pharmacist's reason for none, and the offer to counsel."""

    __tablename__ = "handout"
    __table_args__ = (
        CheckConstraint("method IN ('pickup', 'shipped')", name="method_known"),
        CheckConstraint(
            "counsel_outcome IN ('accepted', 'declined')", name="counsel_outcome_known"
        ),
        CheckConstraint(
            "label_scan_id IS NOT NULL OR (scan_waived_reason IS NOT NULL "
            "AND scan_waived_by_id IS NOT NULL)",
            name="scanned_or_waived",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("rx_order.id"), unique=True)
    method: Mapped[str] = mapped_column(String(10))
    label_print_id: Mapped[int] = mapped_column(ForeignKey("label_print.id"))
    label_scan_id: Mapped[int | None] = mapped_column(ForeignKey("label_scan.id"))
    scan_waived_reason: Mapped[str | None] = mapped_column(Text)
    scan_waived_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    counsel_outcome: Mapped[str] = mapped_column(String(10))
    counselled_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    counsel_notes: Mapped[str] = mapped_column(Text, default="")
    handed_out_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    handed_out_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    order: Mapped[Order] = relationship()
    counselled_by: Mapped[User] = relationship(foreign_keys=[counselled_by_id])
    handed_out_by: Mapped[User] = relationship(foreign_keys=[handed_out_by_id])
    scan_waived_by: Mapped[User | None] = relationship(foreign_keys=[scan_waived_by_id])
