"""Master formulation records: versioned recipes, approved by a pharmacist, never edited after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .inventory import Ingredient
from .types import Quantity, Timestamp, Unit


class Formula(Base):
    __tablename__ = "formula"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        CheckConstraint("status IN ('draft', 'approved', 'retired')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    dosage_form: Mapped[str] = mapped_column(String(30))
    strength_min_mg: Mapped[Quantity]
    strength_max_mg: Mapped[Quantity]
    concentration_mg_per_ml: Mapped[Quantity | None]
    capsule_size: Mapped[str | None] = mapped_column(String(4))
    packing_stat_mg: Mapped[Quantity | None]
    overage_percent: Mapped[Quantity]
    bud_category: Mapped[str] = mapped_column(String(40))
    bud_days_override: Mapped[int | None] = mapped_column(Integer)
    stability_reference: Mapped[str | None] = mapped_column(Text)
    storage: Mapped[str] = mapped_column(String(200))
    container: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(Text)
    qc_requirements: Mapped[str] = mapped_column(Text, default="")
    qc_sample_size: Mapped[int] = mapped_column(Integer, default=10)
    weight_tolerance_percent: Mapped[Quantity]
    # The API weighing tolerance (± %); None on formulas recorded before it existed: 5 %.
    api_tolerance_percent: Mapped[Quantity | None]
    labelling_notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("formula.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[Timestamp]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[FormulaIngredient]] = relationship(
        back_populates="formula",
        order_by="FormulaIngredient.position",
        cascade="all, delete-orphan",
    )


class FormulaIngredient(Base):
    __tablename__ = "formula_ingredient"
    __table_args__ = (
        CheckConstraint(
            "role IN ('active', 'filler', 'capsule_shell', 'vehicle', 'excipient')",
            name="role_known",
        ),
        UniqueConstraint("formula_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    formula_id: Mapped[int] = mapped_column(ForeignKey("formula.id"))
    position: Mapped[int] = mapped_column(Integer)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id"))
    role: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Quantity | None]
    unit: Mapped[Unit | None]
    notes: Mapped[str] = mapped_column(Text, default="")

    formula: Mapped[Formula] = relationship(back_populates="lines")
    ingredient: Mapped[Ingredient] = relationship()
