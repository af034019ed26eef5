"""Listing batches and tracing a lot or a batch to the patients who received it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...models import (
    Batch,
    BatchLotUsage,
    Dispense,
    IngredientLot,
    Order,
    Patient,
    Prescriber,
    Prescription,
)
from .. import audit
from .common import TRACE_LIMIT


def list_batches(session: Session, status: str | None = None, limit: int = 200) -> list[Batch]:
    stmt = select(Batch).order_by(Batch.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Batch.status == status)
    return list(session.scalars(stmt))


@dataclass
class Trace:
    lot: IngredientLot | None
    batch: Batch | None
    batches: list[dict] = field(default_factory=list)
    lots: list[dict] = field(default_factory=list)
    recipients: list[dict] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict:
        return audit._plain(
            {
                "lot": None
                if self.lot is None
                else {
                    "id": self.lot.id,
                    "lot_number": self.lot.lot_number,
                    "ingredient": self.lot.ingredient.name,
                    "status": self.lot.status,
                    "expires_on": self.lot.expires_on,
                },
                "batch": None
                if self.batch is None
                else {"id": self.batch.id, "batch_number": self.batch.batch_number},
                "batches": self.batches,
                "lots": self.lots,
                "recipients": self.recipients,
                "truncated": self.truncated,
            }
        )


CSV_COLUMNS = (
    "batch_number",
    "batch_status",
    "dispensed_at",
    "quantity",
    "unit",
    "order",
    "order_status",
    "patient",
    "patient_dob",
    "patient_phone",
    "patient_address",
    "prescriber",
    "prescriber_npi",
    "prescriber_phone",
)


def _recipients(session: Session, batch_filter, limit: int) -> tuple[list[dict], bool]:
    """One bounded query: dispenses of the batches -> orders -> patients and prescribers."""
    stmt = (
        select(
            Batch.id,
            Batch.batch_number,
            Batch.status,
            Dispense.dispensed_at,
            Dispense.quantity,
            Dispense.unit,
            Order.id,
            Order.fill_number,
            Order.status,
            Prescription.rx_number,
            Patient.id,
            Patient.first_name,
            Patient.last_name,
            Patient.date_of_birth,
            Patient.phone,
            Patient.address,
            Prescriber.first_name,
            Prescriber.last_name,
            Prescriber.credentials,
            Prescriber.npi,
            Prescriber.phone,
        )
        .select_from(Dispense)
        .join(Batch, Batch.id == Dispense.batch_id)
        .join(Order, Order.id == Dispense.order_id)
        .join(Prescription, Prescription.id == Order.prescription_id)
        .join(Patient, Patient.id == Prescription.patient_id)
        .join(Prescriber, Prescriber.id == Prescription.prescriber_id)
        .where(batch_filter)
        .order_by(Batch.id, Dispense.id)
        .limit(limit + 1)
    )
    rows = session.execute(stmt).all()
    out = [
        {
            "batch_id": r[0],
            "batch_number": r[1],
            "batch_status": r[2],
            "dispensed_at": r[3],
            "quantity": r[4],
            "unit": r[5],
            "order_id": r[6],
            "order": f"{r[9]}-{r[7]:02d}",
            "order_status": r[8],
            "patient_id": r[10],
            "patient": f"{r[11]} {r[12]}",
            "patient_dob": r[13],
            "patient_phone": r[14],
            "patient_address": r[15],
            "prescriber": f"{r[16]} {r[17]}, {r[18]}".rstrip(", "),
            "prescriber_npi": r[19],
            "prescriber_phone": r[20],
        }
        for r in rows[:limit]
    ]
    return out, len(rows) > limit


def _batch_rows(batches: Iterable[Batch]) -> list[dict]:
    return [
        {
            "id": b.id,
            "batch_number": b.batch_number,
            "status": b.status,
            "compounded_on": b.compounded_on,
            "beyond_use_date": b.beyond_use_date,
            "units_made": b.units_made,
            "units_remaining": b.units_remaining,
            "unit": b.unit,
        }
        for b in batches
    ]


def trace_lot(session: Session, lot_id: int, limit: int = TRACE_LIMIT) -> Trace:
    lot = session.get(IngredientLot, lot_id)
    if lot is None:
        raise ValidationFailed.single("lot_id", "is not a known lot")
    used = select(BatchLotUsage.batch_id).where(BatchLotUsage.lot_id == lot_id)
    batches = session.scalars(
        select(Batch).where(Batch.id.in_(used)).order_by(Batch.id).limit(limit)
    ).all()
    recipients, truncated = _recipients(session, Batch.id.in_(used), limit)
    return Trace(lot, None, _batch_rows(batches), [], recipients, truncated)


def trace_batch(session: Session, batch: Batch, limit: int = TRACE_LIMIT) -> Trace:
    recipients, truncated = _recipients(session, Batch.id == batch.id, limit)
    lots = [
        {
            "lot_id": u.lot_id,
            "lot_number": u.lot.lot_number,
            "ingredient": u.lot.ingredient.name,
            "role": u.role,
            "status": u.lot.status,
            "expires_on": u.lot.expires_on,
            "quantity": u.actual_quantity if u.actual_quantity is not None else u.planned_quantity,
            "unit": u.unit,
        }
        for u in batch.lot_usages
    ]
    return Trace(None, batch, _batch_rows([batch]), lots, recipients, truncated)
