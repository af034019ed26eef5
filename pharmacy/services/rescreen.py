"""Screening again after intake: at refills, after a change to the patient record, at
verification and at the final check. Findings are stored with their prescription; one that
screening no longer produces is cleared (kept, no longer blocking); a new one blocks until a
pharmacist overrides it with a written reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import utcnow
from ..domain import lifecycle, screening
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..models import Order, Patient, Prescription, ScreeningFinding, User
from . import audit
from . import orders as order_service
from . import prescriptions as rx_service

MIN_OVERRIDE_REASON = rx_service.MIN_OVERRIDE_REASON
# Prescriptions a change to the patient record re-screens: those that can still be filled.
OPEN_PRESCRIPTION_STATUSES = ("entered", "verified", "on_hold")


@dataclass
class Rescreened:
    prescription: Prescription
    added: list[ScreeningFinding] = field(default_factory=list)
    cleared: list[ScreeningFinding] = field(default_factory=list)


def _view(f: ScreeningFinding) -> dict:
    return {"code": f.code, "severity": f.severity, "message": f.message}


def live(rx: Prescription) -> list[ScreeningFinding]:
    return [f for f in rx.findings if f.cleared_at is None]


def blocking(rx: Prescription) -> list[ScreeningFinding]:
    """Live findings that stop the next step: refused ones, and contraindications not
    overridden."""
    return [
        f
        for f in live(rx)
        if f.severity == screening.REFUSED
        or (f.severity == screening.CONTRAINDICATED and f.overridden_at is None)
    ]


def rescreen(
    session: Session, actor: User | None, rx: Prescription, why: str, today: date | None = None
) -> Rescreened:
    """Screen `rx` again now; store new findings, clear those no longer found (audited)."""
    today = today or date.today()
    found = rx_service.screen_prescription(session, rx, today)
    now_keys = {(f.code, f.message) for f in found}
    result = Rescreened(rx)
    stamp = utcnow()
    for row in live(rx):
        if (row.code, row.message) not in now_keys:
            row.cleared_at = stamp
            result.cleared.append(row)
    known = {(f.code, f.message) for f in live(rx)}
    for f in found:
        if (f.code, f.message) not in known:
            row = ScreeningFinding(code=f.code, severity=f.severity, message=f.message)
            rx.findings.append(row)
            result.added.append(row)
    session.flush()
    for row in result.added:
        audit.record(
            session, actor, "screening.finding", "prescription", rx.id, None, _view(row), why
        )
    for row in result.cleared:
        audit.record(
            session,
            actor,
            "screening.cleared",
            "prescription",
            rx.id,
            _view(row),
            {**_view(row), "cleared_at": stamp},
            why,
        )
    return result


def preview(session: Session, rx: Prescription, today: date | None = None) -> list:
    """What screening says now, without writing: live stored findings still found, plus new
    ones (unsaved, so nothing is half-written by looking at a page)."""
    found = rx_service.screen_prescription(session, rx, today or date.today())
    stored = {(f.code, f.message): f for f in live(rx)}
    rows = []
    for f in found:
        row = stored.get((f.code, f.message))
        rows.append(
            row
            if row is not None
            else ScreeningFinding(code=f.code, severity=f.severity, message=f.message)
        )
    return rows


def preview_blocking(rows: list) -> tuple[list, list]:
    """(refused, contraindicated not overridden) among preview rows."""
    refused = [f for f in rows if f.severity == screening.REFUSED]
    pending = [
        f for f in rows if f.severity == screening.CONTRAINDICATED and f.overridden_at is None
    ]
    return refused, pending


def override_blocking(
    session: Session,
    actor: User,
    rx: Prescription,
    reason: str | None,
    *,
    step: str,
    field_name: str = "override_reason",
) -> list[ScreeningFinding]:
    """Refuse while a refused finding is live; without a reason of MIN_OVERRIDE_REASON
    characters refuse while a contraindication is not overridden; with one, override them."""
    refused = [f for f in live(rx) if f.severity == screening.REFUSED]
    if refused:
        raise ValidationFailed.single(
            "findings",
            f"cannot {step}: "
            + " ".join(f.message for f in refused)
            + " A refused finding cannot be overridden.",
        )
    pending = blocking(rx)
    text = (reason or "").strip()
    if pending and len(text) < MIN_OVERRIDE_REASON:
        codes = ", ".join(sorted({f.code.replace("_", " ") for f in pending}))
        raise ValidationFailed.single(
            field_name,
            f"contraindicated ({codes}): write why you override it "
            f"(at least {MIN_OVERRIDE_REASON} characters) to {step}",
        )
    now = utcnow()
    for f in pending:
        f.override_reason, f.overridden_by_id, f.overridden_at = text, actor.id, now
        session.flush()
        audit.record(
            session,
            actor,
            "screening.override",
            "prescription",
            rx.id,
            {**_view(f), "overridden": False},
            {**_view(f), "overridden": True},
            reason=text,
        )
    return pending


def rescreen_patient(
    session: Session, actor: User, patient: Patient, today: date | None = None
) -> list[Rescreened]:
    """After a change to the patient record: screen their open prescriptions again."""
    rxs = session.scalars(
        select(Prescription)
        .where(
            Prescription.patient_id == patient.id,
            Prescription.status.in_(OPEN_PRESCRIPTION_STATUSES),
        )
        .order_by(Prescription.id)
    ).all()
    return [rescreen(session, actor, rx, "the patient record changed", today) for rx in rxs]


def verify_refill(
    session: Session,
    actor: User,
    order: Order,
    override_reason: str | None = None,
    today: date | None = None,
) -> Order:
    """A pharmacist verifies a refill order (received -> verified): screening runs again and
    new contraindications need a written override."""
    rx = order.prescription
    lifecycle.check_transition("order", order.status, "verified", roles=actor.roles)
    if rx.status != "verified":
        raise TransitionNotAllowed(
            f"Order {order.number} cannot be verified: the prescription {rx.rx_number} is "
            f"{rx.status.replace('_', ' ')}; a pharmacist verifies it first."
        )
    rescreen(session, actor, rx, f"screened again to verify refill {order.number}", today)
    overridden = override_blocking(session, actor, rx, override_reason, step="verify the refill")
    reason = (override_reason or "").strip() if overridden else None
    return order_service.transition(
        session, actor, order, "verified", reason=reason, event="verify"
    )
