"""Electronic signatures and complaints / adverse events (records an inspector asks for)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .batches import Batch
from .clinical import Order
from .people import User
from .types import Timestamp


class ElectronicSignature(Base):
    """Who signed which record, meaning what, when, over which content (hash of `content`).

    Names are copied at signing so the record reads the same if the account is renamed later."""

    __tablename__ = "electronic_signature"
    __table_args__ = (Index("ix_electronic_signature_record", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    signer_name: Mapped[str] = mapped_column(String(120))
    signer_initials: Mapped[str] = mapped_column(String(8))
    meaning_code: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str] = mapped_column(String(120))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    content: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[Timestamp]

    signed_by: Mapped[User] = relationship()


COMPLAINT_KINDS = ("complaint", "adverse_event")
SEVERITIES = ("mild", "moderate", "severe", "life_threatening")
COMPLAINT_STATUSES = ("open", "reviewed")
REVIEW_ACTIONS = ("none", "trace", "recall")


class Complaint(Base):
    """A complaint or adverse event about a batch or an order, and the pharmacist's review."""

    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint("batch_id IS NOT NULL OR order_id IS NOT NULL", name="linked"),
        CheckConstraint("kind IN ('complaint', 'adverse_event')", name="kind_known"),
        CheckConstraint(
            "severity IN ('mild', 'moderate', 'severe', 'life_threatening')",
            name="severity_known",
        ),
        CheckConstraint("status IN ('open', 'reviewed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("rx_order.id"), index=True)
    reporter_name: Mapped[str] = mapped_column(String(120))
    reporter_role: Mapped[str] = mapped_column(String(40))
    reporter_contact: Mapped[str] = mapped_column(String(200), default="")
    event_date: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[Timestamp]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_notes: Mapped[str | None] = mapped_column(Text)
    review_action: Mapped[str | None] = mapped_column(String(10))

    batch: Mapped[Batch | None] = relationship()
    order: Mapped[Order | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
