"""Compounding records, the lots they used, their quality checks, and what was dispensed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .types import Quantity, Timestamp, Unit


class Batch(Base):
    __tablename__ = "batch"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_progress', 'awaiting_check', 'released', 'rejected')",
            name="status_known",
        ),
        CheckConstraint("units_remaining >= 0", name="units_not_negative"),
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
    created_at: Mapped[Timestamp]

    lot_usages: Mapped[list[BatchLotUsage]] = relationship(
        back_populates="batch", cascade="all, delete-orphan"
    )


class BatchLotUsage(Base):
    __tablename__ = "batch_lot_usage"

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

    batch: Mapped[Batch] = relationship(back_populates="lot_usages")


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


class Dispense(Base):
    __tablename__ = "dispense"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("rx_order.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    quantity: Mapped[Quantity]
    unit: Mapped[Unit]
    dispensed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    dispensed_at: Mapped[Timestamp]


class LabelPrint(Base):
    __tablename__ = "label_print"

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
