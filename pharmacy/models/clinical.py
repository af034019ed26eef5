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
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from .people import User
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
    # Search keys kept in step with the name and phone (see _search_keys below):
    # "ellis margaret" for a case-insensitive prefix search, "2175550191" for the phone.
    # Binary collation ("C") on PostgreSQL, as SQLite compares by default, so that the prefix
    # search's range (name_key >= 'ellis ma' AND name_key < 'ellis mb') is exact and indexed.
    name_key: Mapped[str] = mapped_column(
        String(170).with_variant(String(170, collation="C"), "postgresql"), index=True
    )
    phone_digits: Mapped[str] = mapped_column(String(40), index=True)
    # The phone digits reversed ("1910555712"): a search by the last digits of a number
    # ("555-0191") is then a prefix, an indexed range, not a scan of every patient.
    phone_reversed: Mapped[str] = mapped_column(
        String(40).with_variant(String(40, collation="C"), "postgresql"), index=True, default=""
    )
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def medication_list(self) -> list[str]:
        return split_list(self.medications)

    @property
    def allergy_list(self) -> list[str]:
        return split_list(self.allergies)


def split_list(text: str | None) -> list[str]:
    """Free-text medications/allergies, one per line (or separated by semicolons)."""
    parts = (text or "").replace(";", "\n").splitlines()
    return [p.strip() for p in parts if p.strip()]


def name_key(last_name: str, first_name: str) -> str:
    return " ".join(f"{last_name} {first_name}".casefold().split())


def phone_digits(phone: str | None) -> str:
    return "".join(ch for ch in (phone or "") if ch.isdigit())


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _search_keys(_mapper, _conn, target: Patient) -> None:
    target.name_key = name_key(target.last_name or "", target.first_name or "")
    target.phone_digits = phone_digits(target.phone)
    target.phone_reversed = target.phone_digits[::-1]


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
    # The product made: mg per capsule, or a liquid's concentration in mg per mL.
    strength_mg: Mapped[Quantity]
    # What the patient takes each time, in mg (capsules: strength x whole capsules; liquids:
    # a volume an oral syringe measures). See pharmacy.domain.dosing.
    dose_mg: Mapped[Quantity]
    strength_basis: Mapped[str] = mapped_column(String(4), default="hcl")
    quantity: Mapped[Quantity]
    quantity_unit: Mapped[Unit]
    doses_per_day: Mapped[int] = mapped_column(Integer, default=1)
    directions: Mapped[str] = mapped_column(Text)
    refills_authorized: Mapped[int] = mapped_column(Integer, default=0)
    indication: Mapped[str] = mapped_column(Text, default="")
    icd10_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    held_from: Mapped[str | None] = mapped_column(String(24))
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
    findings: Mapped[list[ScreeningFinding]] = relationship(
        back_populates="prescription",
        order_by="ScreeningFinding.id",
        cascade="all, delete-orphan",
    )
    orders: Mapped[list[Order]] = relationship(
        back_populates="prescription", order_by="Order.fill_number"
    )
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    @property
    def unit(self) -> str:
        return "capsule" if self.dosage_form == "capsule" else "mL"

    @property
    def strength_text(self) -> str:
        """The product strength as printed: "4.5 mg" (a capsule) or "1 mg/mL"."""
        from ..domain.dosing import strength_text

        return strength_text(self.strength_mg, self.unit)

    @property
    def is_titration(self) -> bool:
        return bool(self.titration_steps)

    @property
    def strengths(self) -> list:
        """Every product strength the patient is given: a titration step made as its own batch
        adds its strength to the prescription's."""
        from ..domain import dosing
        from ..domain.errors import ValidationFailed
        from ..domain.titration import TitrationStep as Step

        steps = [Step(s.strength_mg, s.days or 0) for s in self.titration_steps]
        try:
            planned = dosing.plan_titration(steps, strength_mg=self.strength_mg, unit=self.unit)
        except ValidationFailed:  # a record from before the dose model
            planned = []
        return sorted({self.strength_mg.normalize()} | {p.amount.strength_mg for p in planned})

    @property
    def strengths_text(self) -> str:
        """ "1 mg/mL", or a titration's "1.5 mg, 3 mg and 4.5 mg"."""
        from ..domain.dosing import strengths_text

        return strengths_text(self.strengths, self.unit)


class ScreeningFinding(Base):
    """One screening finding stored with the prescription it was found on, and its override."""

    __tablename__ = "screening_finding"
    __table_args__ = (
        CheckConstraint(
            "severity IN ('warning', 'contraindicated', 'refused')", name="severity_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescription.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    overridden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when screening again no longer finds it (e.g. the opioid was stopped); kept, never
    # deleted, and no longer blocking. If it comes back it is a new finding.
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    prescription: Mapped[Prescription] = relationship(back_populates="findings")
    overridden_by: Mapped[User | None] = relationship()


class SequenceCounter(Base):
    """Named counters handed out under a row lock (Rx numbers)."""

    __tablename__ = "sequence_counter"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class TitrationStep(Base):
    __tablename__ = "titration_step"
    __table_args__ = (UniqueConstraint("prescription_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescription.id"))
    position: Mapped[int] = mapped_column(Integer)
    strength_mg: Mapped[Quantity]  # the step's DOSE in mg per administration
    units_per_dose: Mapped[int | None] = mapped_column(Integer)
    # None on the last step: "then continue".
    days: Mapped[int | None] = mapped_column(Integer)

    prescription: Mapped[Prescription] = relationship(back_populates="titration_steps")


class Order(Base):
    """One fill of a prescription, from receipt to pick-up."""

    __tablename__ = "rx_order"
    __table_args__ = (
        UniqueConstraint("prescription_id", "fill_number"),
        CheckConstraint(
            "dispensed_via IS NULL OR dispensed_via IN ('pickup', 'shipped')",
            name="dispensed_via_known",
        ),
        Index("ix_rx_order_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescription.id"))
    fill_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24))  # indexed by ix_rx_order_status_id
    quantity: Mapped[Quantity]
    quantity_unit: Mapped[Unit]
    promised_on: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str | None] = mapped_column(Text)
    held_from: Mapped[str | None] = mapped_column(String(24))
    dispensed_via: Mapped[str | None] = mapped_column(String(10))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[Timestamp] = mapped_column(index=True)
    updated_at: Mapped[UpdatedAt]

    prescription: Mapped[Prescription] = relationship(back_populates="orders")

    @property
    def number(self) -> str:
        return f"{self.prescription.rx_number}-{self.fill_number:02d}"

    @property
    def is_titration(self) -> bool:
        """The titration is given with the first fill; refills continue the maintenance dose."""
        return self.fill_number == 1 and self.prescription.is_titration
