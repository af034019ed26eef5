"""Complaints and adverse events: record a report against a batch or an order, the
pharmacist's review (and from it a trace or a recall), and the MedWatch-style report data.
Services flush; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from labels.data import MedWatchData

from ..database import utcnow
from ..domain import complaints as rules
from ..domain import lifecycle
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..models import Batch, Complaint, Dispense, Order, Prescription, User
from . import audit
from . import batches as batch_service
from .documents import pharmacy


@dataclass(frozen=True)
class ReportInput:
    kind: str
    severity: str
    reporter_name: str
    reporter_role: str
    event_date: date | None
    received_on: date | None
    description: str
    reporter_contact: str = ""
    batch_number: str = ""
    order_number: str = ""


def _find_order(session: Session, number: str) -> Order | None:
    rx_number, _, fill = number.strip().upper().rpartition("-")
    if not rx_number or not fill.isdigit():
        return None
    return session.scalar(
        select(Order)
        .join(Prescription, Prescription.id == Order.prescription_id)
        .where(Prescription.rx_number == rx_number, Order.fill_number == int(fill))
    )


def _order_batches(session: Session, order: Order) -> list[Batch]:
    return list(
        session.scalars(
            select(Batch)
            .where(Batch.id.in_(select(Dispense.batch_id).where(Dispense.order_id == order.id)))
            .order_by(Batch.id)
        )
    )


def _link(session: Session, data: ReportInput) -> tuple[Batch | None, Order | None]:
    """The batch and order a report names. An order filled from one batch names that batch."""
    batch = order = None
    errors = []
    if data.batch_number.strip():
        batch = session.scalar(select(Batch).where(Batch.batch_number == data.batch_number.strip()))
        if batch is None:
            errors.append(FieldError("batch_number", f"no batch {data.batch_number.strip()!r}"))
    if data.order_number.strip():
        order = _find_order(session, data.order_number)
        if order is None:
            errors.append(
                FieldError("order_number", f"no order {data.order_number.strip()!r} (RX…-01)")
            )
    if not errors and batch is None and order is None:
        errors.append(FieldError("batch_number", "name the batch or the order it concerns"))
    if errors:
        raise ValidationFailed(errors)
    if order is not None:
        filled_from = _order_batches(session, order)
        if batch is not None and filled_from and batch not in filled_from:
            raise ValidationFailed.single(
                "batch_number",
                f"order {order.number} was not filled from batch {batch.batch_number}",
            )
        if batch is None and len(filled_from) == 1:
            batch = filled_from[0]
    return batch, order


def record(
    session: Session, actor: User, data: ReportInput, today: date | None = None
) -> Complaint:
    today = today or date.today()
    facts = rules.ReportFacts(
        data.kind,
        data.severity,
        data.reporter_name,
        data.reporter_role,
        data.event_date,
        data.received_on,
        data.description,
    )
    errors = rules.problems(facts, today)
    try:
        batch, order = _link(session, data)
    except ValidationFailed as exc:
        raise ValidationFailed(errors + exc.errors) from None
    if errors:
        raise ValidationFailed(errors)
    row = Complaint(
        kind=data.kind,
        batch_id=batch.id if batch else None,
        order_id=order.id if order else None,
        reporter_name=data.reporter_name.strip(),
        reporter_role=data.reporter_role,
        reporter_contact=data.reporter_contact.strip(),
        event_date=data.event_date,
        received_on=data.received_on,
        severity=data.severity,
        description=data.description.strip(),
        status="open",
        recorded_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "complaint.record", "complaint", row.id, None, audit.snapshot(row))
    return row


def review(
    session: Session, actor: User, complaint: Complaint, action: str, notes: str
) -> list[Order]:
    """A pharmacist's assessment; 'recall' recalls the batch (orders holding its units go on
    hold) in the same transaction. Returns the orders put on hold."""
    if not actor.has_role("pharmacist"):
        raise TransitionNotAllowed("Only a pharmacist reviews complaints and adverse events.")
    if complaint.status != "open":
        raise TransitionNotAllowed(f"Report {complaint.id} was already reviewed.")
    batch = complaint.batch
    errors = rules.review_problems(action, notes, batch.status if batch else None)
    if errors:
        raise ValidationFailed(errors)
    old = {"status": complaint.status}
    complaint.status = "reviewed"
    complaint.reviewed_by_id = actor.id
    complaint.reviewed_at = utcnow()
    complaint.review_notes = notes.strip()
    complaint.review_action = action
    session.flush()
    held: list[Order] = []
    new = {"status": "reviewed", "action": action}
    if action == "recall":
        reason = f"{rules.KINDS[complaint.kind].lower()} report {complaint.id}: {notes.strip()}"
        lifecycle.check_transition(
            "batch", batch.status, "recalled", roles=actor.roles, reason=reason
        )
        held = batch_service.recall(session, actor, batch, reason)
        new["orders_held"] = [o.number for o in held]
    elif action == "trace":
        trace = batch_service.trace_batch(session, batch)
        new["recipients"] = len(trace.recipients)
    audit.record(
        session,
        actor,
        "complaint.review",
        "complaint",
        complaint.id,
        old,
        new,
        reason=notes.strip(),
    )
    return held


def list_reports(session: Session, status: str | None = None, limit: int = 200) -> list[Complaint]:
    q = select(Complaint).order_by(Complaint.id.desc()).limit(limit)
    if status:
        q = q.where(Complaint.status == status)
    return list(session.scalars(q))


def medwatch(session: Session, complaint: Complaint) -> MedWatchData:
    """The MedWatch 3500-style report as plain data (labels/ renders it)."""
    order = complaint.order
    batch = complaint.batch
    rx = order.prescription if order else None
    if rx is None and batch is not None:
        rx = _first_recipient(session, batch)
    patient = rx.patient if rx else None
    return MedWatchData(
        pharmacy=pharmacy(session),
        report_id=f"C-{complaint.id:05d}",
        kind=rules.KINDS[complaint.kind],
        serious=rules.is_serious(complaint.severity),
        severity=rules.SEVERITIES[complaint.severity],
        patient_initials=_initials(patient) if patient else "",
        patient_age=_age(patient.date_of_birth, complaint.event_date) if patient else "",
        patient_sex=patient.sex if patient else "",
        event_date=complaint.event_date,
        received_on=complaint.received_on,
        description=complaint.description,
        product=_product(batch, rx),
        batch_number=batch.batch_number if batch else "",
        strength=batch.strength_text if batch else (rx.strength_text if rx else ""),
        beyond_use_date=batch.beyond_use_date if batch else None,
        order_number=order.number if order else "",
        rx_number=rx.rx_number if rx else "",
        directions=rx.directions if rx else "",
        reporter_name=complaint.reporter_name,
        reporter_role=complaint.reporter_role,
        reporter_contact=complaint.reporter_contact,
        review=complaint.review_notes or "",
        reviewed_by=complaint.reviewed_by.full_name if complaint.reviewed_by else "",
    )


def _first_recipient(session: Session, batch: Batch) -> Prescription | None:
    order = session.scalar(
        select(Order)
        .where(Order.id.in_(select(Dispense.order_id).where(Dispense.batch_id == batch.id)))
        .order_by(Order.id)
        .limit(1)
    )
    return order.prescription if order else None


def _initials(patient) -> str:
    # MedWatch asks for initials, not the name: the report leaves the pharmacy.
    return f"{patient.first_name[:1]}{patient.last_name[:1]}".upper()


def _age(born: date, on: date) -> str:
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return f"{years} years"


def _product(batch: Batch | None, rx: Prescription | None) -> str:
    if batch is not None:
        f = batch.formula
        return f"Naltrexone (compounded) — {f.code} v{f.version} {f.name}"
    return f"Naltrexone (compounded) {rx.dosage_form}" if rx else ""
