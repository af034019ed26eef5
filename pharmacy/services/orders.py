"""Orders (fills): refills, the status workflow, status look-up and the work queues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..domain import lifecycle
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..domain.prescription_rules import DEFAULT_VALIDITY_MONTHS, PrescriptionTerms
from ..domain.rxnumber import format_rx_number, parse_rx_number
from ..models import AuditEvent, Order, Patient, Prescription, User
from . import audit
from .patients import patient_filter

PAGE_SIZE = 25
DISPENSE_METHODS = ("pickup", "shipped")
OPEN_STATUSES = ("received", "verified", "in_compounding", "quality_check", "ready", "on_hold")
# Moves that need hands-on pharmacy work; the front desk (staff) may not make them.
# Pharmacist-only moves (verify, release from quality check) are in lifecycle.ORDER.
CLINICAL = frozenset({"pharmacist", "technician"})
CLINICAL_TARGETS = frozenset({"in_compounding", "quality_check", "ready"})
# Each role's work on the queue board: which columns come first for them.
ROLE_WORK = {
    "pharmacist": ("received", "quality_check"),
    "technician": ("verified", "in_compounding"),
    "staff": ("ready",),
}


def fills_made(rx: Prescription) -> int:
    return sum(1 for o in rx.orders if o.status != "cancelled")


def terms(rx: Prescription, validity_months: int = DEFAULT_VALIDITY_MONTHS) -> PrescriptionTerms:
    return PrescriptionTerms(
        rx.date_written, rx.refills_authorized, fills_made(rx), rx.status, validity_months
    )


def create_refill(
    session: Session,
    actor: User,
    rx: Prescription,
    today: date | None = None,
    promised_on: date | None = None,
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
) -> Order:
    today = today or date.today()
    decision = terms(rx, validity_months).can_fill(today)
    if not decision.allowed:
        raise ValidationFailed(
            [FieldError("prescription", f"no refill: {r.message}") for r in decision.reasons]
        )
    if promised_on is not None and promised_on < today:
        raise ValidationFailed.single("promised_on", "the promised date is in the past")
    number = max((o.fill_number for o in rx.orders), default=0) + 1
    order = Order(
        prescription_id=rx.id,
        fill_number=number,
        status=lifecycle.ORDER.initial,
        quantity=rx.quantity,
        quantity_unit=rx.quantity_unit,
        promised_on=promised_on,
        created_by_id=actor.id,
    )
    session.add(order)
    session.flush()
    session.refresh(rx, ["orders"])
    audit.record(session, actor, "order.create", "rx_order", order.id, None, audit.snapshot(order))
    return order


def transition(
    session: Session,
    actor: User | None,
    order: Order,
    target: str,
    reason: str | None = None,
    dispensed_via: str | None = None,
    *,
    check_roles: bool = True,
) -> Order:
    """Move an order along lifecycle.ORDER. `check_roles=False` is for moves the system makes
    as a consequence of another (cancelling the fills of a rejected prescription)."""
    current = order.status
    held_from = order.held_from if current == "on_hold" else None
    roles = actor.roles if actor is not None and check_roles else None
    lifecycle.check_transition(
        "order", current, target, roles=roles, reason=reason, held_from=held_from
    )
    what = f"Order {order.number} cannot move from {current.replace('_', ' ')} to {target.replace('_', ' ')}"
    if roles is not None and target in CLINICAL_TARGETS and not (roles & CLINICAL):
        raise TransitionNotAllowed(f"{what}: only a pharmacist or technician may do that.")
    if target == "verified" and order.prescription.status != "verified":
        raise TransitionNotAllowed(
            f"{what}: the prescription {order.prescription.rx_number} is "
            f"{order.prescription.status.replace('_', ' ')}; a pharmacist verifies it first."
        )
    if target == "dispensed" and dispensed_via not in DISPENSE_METHODS:
        raise ValidationFailed.single("dispensed_via", "choose pick-up or shipped")
    old = {"status": current, "held_from": order.held_from}
    order.held_from = current if target == "on_hold" else None
    order.status = target
    order.status_reason = reason.strip() if reason and reason.strip() else None
    if target == "dispensed":
        order.dispensed_via = dispensed_via
    session.flush()
    new = {"status": target, "held_from": order.held_from}
    if dispensed_via and target == "dispensed":
        new["dispensed_via"] = dispensed_via
    audit.record(
        session,
        actor,
        "order.transition",
        "rx_order",
        order.id,
        old,
        new,
        reason=order.status_reason,
    )
    rx = order.prescription
    if target == "dispensed" and rx.status == "verified" and terms(rx).fills_remaining == 0:
        open_left = [o for o in rx.orders if o.status in OPEN_STATUSES]
        if not open_left:
            lifecycle.check_transition("prescription", rx.status, "completed")
            rx.status = "completed"
            session.flush()
            audit.record(
                session,
                actor,
                "prescription.complete",
                "prescription",
                rx.id,
                {"status": "verified"},
                {"status": "completed"},
                reason="every authorised fill has been dispensed",
            )
    return order


def cancel_open_orders(session: Session, actor: User, rx: Prescription, reason: str) -> None:
    for order in rx.orders:
        if order.status in OPEN_STATUSES:
            transition(session, actor, order, "cancelled", reason=reason, check_roles=False)


# --- look-up ----------------------------------------------------------------------------------


@dataclass
class Page:
    orders: list[Order]
    next_before: int | None  # pass as `before` for the next (older) page


def _base_query():
    return (
        select(Order)
        .join(Order.prescription)
        .join(Prescription.patient)
        .options(joinedload(Order.prescription).joinedload(Prescription.patient))
    )


def lookup(session: Session, q: str, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """Orders matching an Rx number, a patient name prefix, a date of birth or a phone number,
    newest first, one bounded page at a time (keyset on the order id)."""
    q = (q or "").strip()
    if not q:
        return Page([], None)
    stmt = _base_query()
    if q.upper().startswith("RX"):
        rx = parse_rx_number(q, require_check=False, field="q")
        stmt = stmt.where(Prescription.rx_number == format_rx_number(rx.sequence))
        if rx.fill is not None:
            stmt = stmt.where(Order.fill_number == rx.fill)
    else:
        stmt = stmt.where(patient_filter(q))
    if before:
        stmt = stmt.where(Order.id < before)
    rows = list(session.scalars(stmt.order_by(Order.id.desc()).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def queue(
    session: Session, status: str, after: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Order], int | None]:
    """Open orders in one status, oldest first; returns the page and the `after` cursor."""
    if status not in OPEN_STATUSES:
        raise ValidationFailed.single("status", f"{status!r} is not an open order status")
    stmt = _base_query().where(Order.status == status)
    if after:
        stmt = stmt.where(Order.id > after)
    rows = list(session.scalars(stmt.order_by(Order.id).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def queue_counts(session: Session) -> dict[str, int]:
    counts = dict(
        session.execute(
            select(Order.status, func.count())
            .where(Order.status.in_(OPEN_STATUSES))
            .group_by(Order.status)
        ).all()
    )
    return {s: counts.get(s, 0) for s in OPEN_STATUSES}


def queue_order_for(roles: frozenset[str]) -> list[str]:
    first: list[str] = []
    for role in ("pharmacist", "technician", "staff"):
        if role in roles:
            first += [s for s in ROLE_WORK[role] if s not in first]
    return first + [s for s in OPEN_STATUSES if s not in first]


def history(session: Session, order: Order) -> list[AuditEvent]:
    rx_id = str(order.prescription_id)
    stmt = select(AuditEvent).where(
        or_(
            (AuditEvent.entity == "rx_order") & (AuditEvent.entity_id == str(order.id)),
            (AuditEvent.entity == "prescription") & (AuditEvent.entity_id == rx_id),
        )
    )
    return list(session.scalars(stmt.order_by(AuditEvent.id)))


def order_dict(
    order: Order, *, detail: bool = False, events: list[AuditEvent] | None = None
) -> dict:
    rx = order.prescription
    patient: Patient = rx.patient
    data = {
        "id": order.id,
        "number": order.number,
        "rx_number": rx.rx_number,
        "fill_number": order.fill_number,
        "status": order.status,
        "status_reason": order.status_reason,
        "promised_on": order.promised_on.isoformat() if order.promised_on else None,
        "quantity": str(order.quantity),
        "quantity_unit": order.quantity_unit,
        "created_at": order.created_at.isoformat(),
        "patient": {
            "id": patient.id,
            "name": patient.full_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
        },
    }
    if detail:
        data["prescription"] = {
            "id": rx.id,
            "status": rx.status,
            "strength_mg": str(rx.strength_mg),
            "strength_basis": rx.strength_basis,
            "dosage_form": rx.dosage_form,
            "directions": rx.directions,
            "expires_on": rx.expires_on.isoformat(),
            "refills_authorized": rx.refills_authorized,
            "refills_remaining": terms(rx).refills_remaining,
        }
        data["dispensed_via"] = order.dispensed_via
        data["history"] = [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "old": e.old,
                "new": e.new,
                "reason": e.reason,
            }
            for e in (events or [])
        ]
    return data
