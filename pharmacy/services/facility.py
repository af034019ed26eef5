"""Facility logs: storage units and their temperatures, what is stored where, holds after an
excursion (a pharmacist releases back or rejects, with a reason), and the cleaning log.

An excursion reading holds at once every lot and batch placed in the unit: a released lot goes
back to quarantine (so no batch can use it), a batch cannot be released or fill orders while
its hold is open (batches/decisions.py and batches/fill.py ask `open_hold`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..database import utcnow
from ..domain import facility as rules
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..models import (
    Batch,
    CleaningRecord,
    IngredientLot,
    StorageHold,
    StoragePlacement,
    StorageUnit,
    TemperatureReading,
    User,
)
from . import audit
from .inventory import _text, parse_quantity

LIST_LIMIT = 200


def create_unit(session: Session, actor: User, name: str, kind: str) -> StorageUnit:
    errors = []
    name = _text(name)
    if not name:
        errors.append(FieldError("name", "is required"))
    elif len(name) > 80:
        errors.append(FieldError("name", "is longer than 80 characters"))
    elif session.scalar(select(StorageUnit.id).where(func.lower(StorageUnit.name) == name.lower())):
        errors.append(FieldError("name", f"a storage unit called '{name}' already exists"))
    if kind not in rules.STORAGE_KINDS:
        errors.append(FieldError("kind", "choose refrigerator or room"))
    if errors:
        raise ValidationFailed(errors)
    unit = StorageUnit(name=name, kind=kind, active=True)
    session.add(unit)
    session.flush()
    audit.record(
        session, actor, "storage_unit.create", "storage_unit", unit.id, None, audit.snapshot(unit)
    )
    return unit


def units(session: Session) -> list[StorageUnit]:
    return list(session.scalars(select(StorageUnit).order_by(StorageUnit.name).limit(LIST_LIMIT)))


def record_reading(
    session: Session, actor: User, unit: StorageUnit, celsius: object, note: str = ""
) -> tuple[TemperatureReading, list[StorageHold]]:
    errors: list[FieldError] = []
    value = parse_quantity(celsius, "celsius", errors, allow_zero=True, allow_negative=True)
    if value is not None and not Decimal("-40") <= value <= Decimal("60"):
        errors.append(FieldError("celsius", f"{value} °C is not a plausible reading"))
    if len(_text(note)) > 200:
        errors.append(FieldError("note", "is longer than 200 characters"))
    if errors:
        raise ValidationFailed(errors)
    status = rules.classify(unit.kind, value)
    if status != "in_range" and not _text(note):
        raise ValidationFailed.single(
            "note", f"say what was done: {value} °C is outside {rules.range_text(unit.kind)}"
        )
    reading = TemperatureReading(
        unit_id=unit.id, celsius=value, status=status, read_by_id=actor.id, note=_text(note) or None
    )
    session.add(reading)
    session.flush()
    audit.record(
        session, actor, "temperature.record", "storage_unit", unit.id, None, audit.snapshot(reading)
    )
    holds = _hold_contents(session, actor, unit, reading) if status == "excursion" else []
    return reading, holds


def readings(session: Session, unit_id: int, limit: int = 50) -> list[TemperatureReading]:
    return list(
        session.scalars(
            select(TemperatureReading)
            .where(TemperatureReading.unit_id == unit_id)
            .order_by(TemperatureReading.read_at.desc(), TemperatureReading.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- what is stored where


def contents(session: Session, unit_id: int) -> list[StoragePlacement]:
    return list(
        session.scalars(
            select(StoragePlacement)
            .where(StoragePlacement.unit_id == unit_id, StoragePlacement.removed_at.is_(None))
            .order_by(StoragePlacement.id)
            .limit(LIST_LIMIT)
        )
    )


def place(session: Session, actor: User, unit: StorageUnit, code: str) -> StoragePlacement:
    """Store a lot (by lot number) or a batch (by batch number) in `unit`; it leaves its
    previous place."""
    code = _text(code)
    batch = session.scalar(select(Batch).where(Batch.batch_number == code))
    lot = (
        None
        if batch
        else session.scalar(select(IngredientLot).where(IngredientLot.lot_number == code).limit(1))
    )
    if batch is None and lot is None:
        raise ValidationFailed.single("code", f"no lot or batch numbered '{code}'")
    owner = {"batch_id": batch.id} if batch else {"lot_id": lot.id}
    column = StoragePlacement.batch_id if batch else StoragePlacement.lot_id
    now = utcnow()
    for old in session.scalars(
        select(StoragePlacement).where(
            column == (batch or lot).id, StoragePlacement.removed_at.is_(None)
        )
    ):
        old.removed_at = now
    row = StoragePlacement(unit_id=unit.id, placed_by_id=actor.id, placed_at=now, **owner)
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "storage.place", "storage_unit", unit.id, None, {**owner, "code": code}
    )
    return row


# ---------------------------------------------------------------- holds


def open_hold(session: Session, *, lot_id: int | None = None, batch_id: int | None = None):
    column, value = (StorageHold.lot_id, lot_id) if lot_id else (StorageHold.batch_id, batch_id)
    return session.scalar(
        select(StorageHold).where(column == value, StorageHold.decision.is_(None)).limit(1)
    )


def _hold_contents(
    session: Session, actor: User, unit: StorageUnit, reading: TemperatureReading
) -> list[StorageHold]:
    why = (
        f"temperature excursion: {unit.name} read {reading.celsius} °C "
        f"(allowed {rules.range_text(unit.kind)})"
    )
    holds = []
    for placed in contents(session, unit.id):
        if placed.lot_id and open_hold(session, lot_id=placed.lot_id) is None:
            lot = session.get(IngredientLot, placed.lot_id)
            if lot.status not in ("quarantined", "released"):
                continue
            holds.append(_open(session, actor, reading, lot=lot, why=why))
        elif placed.batch_id and open_hold(session, batch_id=placed.batch_id) is None:
            batch = session.get(Batch, placed.batch_id)
            if batch.status in ("rejected", "recalled") or (
                batch.status == "released" and not batch.units_remaining
            ):
                continue
            holds.append(_open(session, actor, reading, batch=batch, why=why))
    return holds


def _open(session, actor, reading, *, why, lot=None, batch=None) -> StorageHold:
    target = lot or batch
    hold = StorageHold(
        reading_id=reading.id,
        lot_id=lot.id if lot else None,
        batch_id=batch.id if batch else None,
        status_before=target.status,
    )
    session.add(hold)
    if lot is not None and lot.status == "released":
        lot.status, lot.status_reason = "quarantined", why
        lot.status_changed_at, lot.status_changed_by_id = utcnow(), actor.id
    session.flush()
    audit.record(
        session,
        actor,
        "storage.hold",
        "ingredient_lot" if lot else "batch",
        target.id,
        {"status": hold.status_before},
        {"status": target.status, "hold": hold.id},
        reason=why,
    )
    return hold


def open_holds(session: Session) -> list[StorageHold]:
    return list(
        session.scalars(
            select(StorageHold)
            .where(StorageHold.decision.is_(None))
            .order_by(StorageHold.id)
            .limit(LIST_LIMIT)
        )
    )


@dataclass(frozen=True)
class HoldView:
    hold: StorageHold
    what: str
    reading: TemperatureReading
    unit: StorageUnit


def describe(session: Session, hold: StorageHold) -> HoldView:
    reading = session.get(TemperatureReading, hold.reading_id)
    if hold.lot_id:
        lot = session.get(IngredientLot, hold.lot_id)
        what = f"Lot {lot.lot_number} ({lot.ingredient.name})"
    else:
        what = f"Batch {session.get(Batch, hold.batch_id).batch_number}"
    return HoldView(hold, what, reading, session.get(StorageUnit, reading.unit_id))


def decide(session: Session, actor: User, hold: StorageHold, decision: str, reason: str) -> None:
    """A pharmacist releases the held lot or batch back, or rejects it; both need a reason."""
    if not actor.has_role("pharmacist"):
        raise TransitionNotAllowed("Only a pharmacist decides on a temperature hold.")
    errors = []
    if decision not in ("release", "reject"):
        errors.append(FieldError("decision", "choose release back or reject"))
    if not _text(reason):
        errors.append(FieldError("reason", "is required: say why (e.g. stability data, duration)"))
    if errors:
        raise ValidationFailed(errors)
    if hold.decision is not None:
        raise TransitionNotAllowed("This hold was already decided.")
    reason = _text(reason)
    if hold.lot_id:
        _decide_lot(session, actor, hold, decision, reason)
    else:
        _decide_batch(session, actor, hold, decision, reason)
    hold.decision, hold.reason = decision, reason
    hold.decided_by_id, hold.decided_at = actor.id, utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        f"storage.hold_{decision}",
        "storage_hold",
        hold.id,
        {"decision": None},
        {"decision": decision},
        reason=reason,
    )


def _decide_lot(session, actor, hold, decision, reason) -> None:
    lot = session.get(IngredientLot, hold.lot_id)
    old = {"status": lot.status}
    if decision == "reject":
        lot.status = "rejected"
    elif hold.status_before == "released" and lot.status == "quarantined":
        lot.status = "released"
    else:
        return
    lot.status_reason = f"temperature hold: {reason}"
    lot.status_changed_at, lot.status_changed_by_id = utcnow(), actor.id
    session.flush()
    audit.record(
        session,
        actor,
        f"lot.{lot.status}",
        "ingredient_lot",
        lot.id,
        old,
        {"status": lot.status},
        reason=reason,
    )


def _decide_batch(session, actor, hold, decision, reason) -> None:
    batch = session.get(Batch, hold.batch_id)
    if decision == "release":
        return
    if batch.status == "released":
        # The units that were in the unit are discarded; units already dispensed were not there.
        old = {"units_remaining": batch.units_remaining}
        batch.units_remaining = 0
        session.flush()
        audit.record(
            session,
            actor,
            "batch.discard",
            "batch",
            batch.id,
            old,
            {"units_remaining": 0},
            reason=f"temperature hold: {reason}",
        )
    elif batch.status in ("in_progress", "awaiting_check"):
        from .batches import decisions

        decisions.reject(session, actor, batch, f"temperature hold: {reason}")


# ---------------------------------------------------------------- cleaning


def record_cleaning(session: Session, actor: User, area: str, agent: str, note: str = ""):
    errors = []
    for field, value in (("area", area), ("agent", agent)):
        if not _text(value):
            errors.append(FieldError(field, "is required"))
        elif len(_text(value)) > 80:
            errors.append(FieldError(field, "is longer than 80 characters"))
    if len(_text(note)) > 200:
        errors.append(FieldError("note", "is longer than 200 characters"))
    if errors:
        raise ValidationFailed(errors)
    row = CleaningRecord(
        area=_text(area), agent=_text(agent), note=_text(note) or None, done_by_id=actor.id
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "cleaning.record", "cleaning_record", row.id, None, audit.snapshot(row)
    )
    return row


def cleaning_log(session: Session, limit: int = 100) -> list[CleaningRecord]:
    return list(
        session.scalars(
            select(CleaningRecord)
            .order_by(CleaningRecord.done_at.desc(), CleaningRecord.id.desc())
            .limit(limit)
        )
    )
