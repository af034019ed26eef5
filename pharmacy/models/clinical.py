"""Patients, prescribers, prescriptions (with titration plans) and the orders that fill them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .types import Quantity, Timestamp, Unit, UpdatedAt

LIVER_DISEASE = ("none", "acute_hepatitis", "liver_failure", "other")


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_name", "last_name", "first_name"),
        CheckConstraint(
            "liver_disease IN ('none', 'acute_hepatitis', 'liver_failure', 'other')",
            name="liver_disease_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date, index=True)
    sex: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="", index=True)
    allergies: Mapped[str] = mapped_column(Text, default="")
    medications: Mapped[str] = mapped_column(Text, default="")
    pregnant: Mapped[bool] = mapped_column(Boolean, default=False)
    breastfeeding: Mapped[bool] = mapped_column(Boolean, default=False)
    liver_disease: Mapped[str] = mapped_column(String(20), default="none")
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Prescriber(Base):
    __tablename__ = "prescriber"
    __table_args__ = (Index("ix_prescriber_name", "last_name", "first_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    credentials: Mapped[str] = mapped_column(String(40), default="")
    npi: Mapped[str] = mapped_column(String(10), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}, {self.credentials}".rstrip(", ")


class Prescription(Base):
    __tablename__ = "prescription"
    __table_args__ = (
        CheckConstraint("strength_basis IN ('hcl', 'base')", name="strength_basis_known"),
        CheckConstraint("refills_authorized >= 0", name="refills_not_negative"),
        Index("ix_prescription_patient_status", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rx_number: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("prescriber.id"), index=True)
    formula_id: Mapped[int | None] = mapped_column(ForeignKey("formula.id"))
    date_written: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    dosage_form: Mapped[str] = mapped_column(String(30))
    strength_mg: Mapped[Quantity]
    strength_basis: Mapped[str] = mapped_column(String(4), default="hcl")
    quantity: Mapped[Quantity]
    quantity_unit: Mapped[Unit]
    doses_per_day: Mapped[int] = mapped_column(Integer, default=1)
    directions: Mapped[str] = mapped_column(Text)
    refills_authorized: Mapped[int] = mapped_column(Integer, default=0)
    indication: Mapped[str] = mapped_column(Text, default="")
    icd10_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24), index=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[Timestamp]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    patient: Mapped[Patient] = relationship()
    prescriber: Mapped[Prescriber] = relationship()
    titration_steps: Mapped[list[TitrationStep]] = relationship(
        back_populates="prescription",
        order_by="TitrationStep.position",
        cascade="all, delete-orphan",
    )


class TitrationStep(Base):
    __tablename__ = "titration_step"
    __table_args__ = (UniqueConstraint("prescription_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescription.id"))
    position: Mapped[int] = mapped_column(Integer)
    strength_mg: Mapped[Quantity]
    units_per_dose: Mapped[int | None] = mapped_column(Integer)
    # None on the last step: "then continue".
    days: Mapped[int | None] = mapped_column(Integer)

    prescription: Mapped[Prescription] = relationship(back_populates="titration_steps")


class Order(Base):
    """One fill of a prescription, from receipt to pick-up."""

    __tablename__ = "rx_order"
    __table_args__ = (UniqueConstraint("prescription_id", "fill_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescription.id"))
    fill_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), index=True)
    quantity: Mapped[Quantity]
    quantity_unit: Mapped[Unit]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[Timestamp] = mapped_column(index=True)
    updated_at: Mapped[UpdatedAt]

    prescription: Mapped[Prescription] = relationship()
