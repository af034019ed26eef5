"""Compounding records, the lots they used, their quality checks, and what was dispensed."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .types import Quantity, Timestamp, Unit, UpdatedAt

if TYPE_CHECKING:  # imported lazily: inventory.py imports this module while it loads
    from .clinical import Order
    from .formulas import Formula
    from .inventory import Balance, IngredientLot
    from .people import User

BATCH_STATUSES = ("in_progress", "awaiting_check", "released", "rejected", "recalled")

# The verified orders a batch was started for (it may fill others too, from stock).
batch_order = Table(
    "batch_order",
    Base.metadata,
    Column("batch_id", ForeignKey("batch.id"), primary_key=True),
    Column("order_id", ForeignKey("rx_order.id"), primary_key=True, index=True),
)


class Batch(Base):
    __tablename__ = "batch"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_progress', 'awaiting_check', 'released', 'rejected', 'recalled')",
            name="status_known",
        ),
        CheckConstraint("units_remaining >= 0", name="units_not_negative"),
        CheckConstraint("units_planned > 0", name="units_planned_positive"),
        CheckConstraint("units_made IS NULL OR units_made >= 0", name="units_made_not_negative"),
        # Nothing can be dispensed before release: stock appears only when a pharmacist releases.
        CheckConstraint(
            "units_remaining = 0 OR status IN ('released', 'recalled')",
            name="stock_only_when_released",
        ),
        Index("ix_batch_formula_day", "formula_id", "compounded_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_number: Mapped[str] = mapped_column(String(40), unique=True)
    formula_id: Mapped[int] = mapped_column(ForeignKey("formula.id"), index=True)
    strength_mg: Mapped[Quantity]
    strength_basis: Mapped[str] = mapped_column(String(4))
    units_planned: Mapped[int] = mapped_column(Integer)
    units_made: Mapped[int | None] = mapped_column(Integer)
    units_remaining: Mapped[int] = mapped_column(Integer, default=0)
    unit: Mapped[Unit]
    status: Mapped[str] = mapped_column(String(16), default="in_progress", index=True)
    compounded_on: Mapped[date] = mapped_column(Date)
    beyond_use_date: Mapped[date] = mapped_column(Date)
    bud_limited_by: Mapped[str] = mapped_column(String(200))
    balance_id: Mapped[int | None] = mapped_column(ForeignKey("balance.id"))
    calculation: Mapped[dict[str, Any]] = mapped_column(JSON)
    compounded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recalled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recalled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recall_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]

    lot_usages: Mapped[list[BatchLotUsage]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchLotUsage.id"
    )
    formula: Mapped[Formula] = relationship()
    balance: Mapped[Balance | None] = relationship()
    compounded_by: Mapped[User] = relationship(foreign_keys=[compounded_by_id])
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])
    recalled_by: Mapped[User | None] = relationship(foreign_keys=[recalled_by_id])
    qc_results: Mapped[list[QcResult]] = relationship(order_by="QcResult.id")
    dispenses: Mapped[list[Dispense]] = relationship(back_populates="batch", order_by="Dispense.id")
    orders: Mapped[list[Order]] = relationship(secondary=batch_order, order_by="Order.id")

    @property
    def code(self) -> str:
        return (self.calculation or {}).get("formula", {}).get("code", "")

    @property
    def latest_qc(self) -> QcResult | None:
        return self.qc_results[-1] if self.qc_results else None

    @property
    def strength_text(self) -> str:
        """The strength made: "4.5 mg" a capsule, "1 mg/mL" for a liquid."""
        from ..domain.dosing import strength_text

        return strength_text(self.strength_mg, self.unit)


class BatchLotUsage(Base):
    __tablename__ = "batch_lot_usage"
    __table_args__ = (
        CheckConstraint("planned_quantity > 0", name="planned_positive"),
        CheckConstraint("actual_quantity IS NULL OR actual_quantity > 0", name="actual_positive"),
        # A lot's batches in batch order from the index alone (the recall trace).
        Index("ix_batch_lot_usage_lot_id_batch_id", "lot_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("ingredient_lot.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    planned_quantity: Mapped[Quantity]
    actual_quantity: Mapped[Quantity | None]
    unit: Mapped[Unit]
    chosen_by_fefo: Mapped[bool] = mapped_column(Boolean, default=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    balance_id: Mapped[int | None] = mapped_column(ForeignKey("balance.id"))
    # "captured" (read from the balance over its serial line) or "typed" by the person.
    weight_source: Mapped[str | None] = mapped_column(String(10))
    # The container's barcode as scanned at weighing (it matched the line's ingredient and lot).
    container_scan: Mapped[str | None] = mapped_column(String(200))
    weighed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    weighed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A pharmacist's sign-off of an API weight outside its tolerance (the plan is recalculated).
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sign_off_reason: Mapped[str | None] = mapped_column(Text)

    batch: Mapped[Batch] = relationship(back_populates="lot_usages")
    lot: Mapped[IngredientLot] = relationship()
    balance: Mapped[Balance | None] = relationship()
    weighed_by: Mapped[User | None] = relationship(foreign_keys=[weighed_by_id])
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])


class QcResult(Base):
    __tablename__ = "qc_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    passed: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[Timestamp]

    recorded_by: Mapped[User] = relationship()


class Dispense(Base):
    __tablename__ = "dispense"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("rx_order.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    quantity: Mapped[Quantity]
    unit: Mapped[Unit]
    dispensed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    dispensed_at: Mapped[Timestamp]
    # Why a pharmacist let a batch whose BUD ends before the days' supply fill this order.
    bud_short_reason: Mapped[str | None] = mapped_column(Text)

    batch: Mapped[Batch] = relationship(back_populates="dispenses")
    order: Mapped[Order] = relationship()
    dispensed_by: Mapped[User] = relationship()


class LabelPrint(Base):
    """The print log: every print and reprint of a label or document (services.printing)."""

    __tablename__ = "label_print"
    __table_args__ = (
        CheckConstraint("copies >= 1", name="copies_positive"),
        CheckConstraint("NOT reprint OR reason IS NOT NULL", name="reprint_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    stock: Mapped[str | None] = mapped_column(String(40))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    reprint: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    printed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    printed_at: Mapped[Timestamp]
    # Sent to a CUPS printer (else only downloaded): the queue, the job id CUPS gave, and
    # "sent" or "failed" with CUPS's message.
    printer: Mapped[str | None] = mapped_column(String(127))
    job_id: Mapped[str | None] = mapped_column(String(80))
    job_status: Mapped[str | None] = mapped_column(String(10))
    job_message: Mapped[str | None] = mapped_column(Text)

    printed_by: Mapped[User] = relationship()


class LabelPrinter(Base):
    """The CUPS queue that prints one label stock (or "letter" for full-page documents)."""

    __tablename__ = "label_printer"

    id: Mapped[int] = mapped_column(primary_key=True)
    stock: Mapped[str] = mapped_column(String(40), unique=True)
    cups_printer: Mapped[str] = mapped_column(String(127))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[UpdatedAt]
