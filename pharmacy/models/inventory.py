"""Ingredients, their received lots, and the equipment used to weigh them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .types import Quantity, Timestamp, Unit

INGREDIENT_KINDS = ("api", "filler", "capsule_shell", "vehicle", "excipient")


class Ingredient(Base):
    __tablename__ = "ingredient"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('api', 'filler', 'capsule_shell', 'vehicle', 'excipient')",
            name="kind_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[Unit]
    salt_form: Mapped[str | None] = mapped_column(String(40))
    molecular_weight: Mapped[Quantity | None]
    base_molecular_weight: Mapped[Quantity | None]
    tapped_density_mg_per_ml: Mapped[Quantity | None]
    capsule_size: Mapped[str | None] = mapped_column(String(4))
    reorder_point: Mapped[Quantity | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Timestamp]


class IngredientLot(Base):
    __tablename__ = "ingredient_lot"
    __table_args__ = (
        UniqueConstraint("ingredient_id", "lot_number"),
        CheckConstraint("status IN ('quarantined', 'released', 'rejected')", name="status_known"),
        CheckConstraint(
            "assay_basis IS NULL OR assay_basis IN ('as_is', 'anhydrous')",
            name="assay_basis_known",
        ),
        Index("ix_ingredient_lot_usable", "ingredient_id", "status", "expires_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id"))
    lot_number: Mapped[str] = mapped_column(String(60))
    supplier: Mapped[str] = mapped_column(String(120))
    manufacturer: Mapped[str] = mapped_column(String(120))
    expires_on: Mapped[date] = mapped_column(Date)
    expiry_month_only: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity_received: Mapped[Quantity]
    unit: Mapped[Unit]
    assay_percent: Mapped[Quantity | None]
    assay_basis: Mapped[str | None] = mapped_column(String(10))
    water_percent: Mapped[Quantity | None]
    status: Mapped[str] = mapped_column(String(12), default="quarantined")
    status_reason: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[Timestamp]

    ingredient: Mapped[Ingredient] = relationship()


class Balance(Base):
    __tablename__ = "balance"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    readability_mg: Mapped[Quantity]
    mwq_mg: Mapped[Quantity]
    calibration_due: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Timestamp]
