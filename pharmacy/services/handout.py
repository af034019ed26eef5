"""After the fill: the pharmacist's final check (ready -> checked) and the hand-out
(checked -> dispensed) with the label print, its scan and the offer to counsel.

These are the only ways an order reaches `checked` and `dispensed` (orders.EVENT_MOVES).
Signatures for the JSON API: `check_view`, `final_check`, `handout_status`, `hand_out`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from labels import LabelError

from ..database import utcnow
from ..domain import final_check as rules
from ..domain import lifecycle
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..models import Dispense, FinalCheck, Handout, LabelPrint, LabelScan, Order, User
from ..models.handout import COUNSEL_OUTCOMES
from . import audit, documents, rescreen, signatures, training
from . import orders as order_service

# A dispensing label or a titration kit's labels: either carries the order's barcode.
LABEL_DOCUMENTS = ("dispensing_label", "titration_labels")
MIN_REASON = rescreen.MIN_OVERRIDE_REASON


@dataclass
class CheckView:
    """What the final-check screen puts side by side, and what stops the check."""

    order: Order
    rx: rules.RxFacts
    batches: list[rules.BatchFacts]
    label: rules.LabelFacts | None
    discrepancies: list[FieldError]
    findings: list  # current screening findings (rescreen.preview)
    refused: list
    pending: list  # contraindications to override with a reason

    def compared(self) -> dict:
        return audit._plain(
            {
                "rx": vars(self.rx) | {"step_strengths_mg": sorted(self.rx.step_strengths_mg)},
                "batches": [vars(b) for b in self.batches],
                "label": vars(self.label) if self.label else None,
            }
        )


def _batch_facts(session: Session, order: Order) -> list[rules.BatchFacts]:
    by_batch: dict[int, rules.BatchFacts] = {}
    for d in session.scalars(
        select(Dispense).where(Dispense.order_id == order.id).order_by(Dispense.id)
    ):
        b = d.batch
        before = by_batch.get(b.id)
        by_batch[b.id] = rules.BatchFacts(
            batch_number=b.batch_number,
            status=b.status,
            strength_mg=b.strength_mg,
            strength_basis=b.strength_basis,
            unit=b.unit,
            beyond_use_date=b.beyond_use_date,
            quantity=(before.quantity if before else Decimal(0)) + d.quantity,
        )
    return list(by_batch.values())


def check_view(session: Session, order: Order, today: date | None = None) -> CheckView:
    """Everything the pharmacist compares; nothing is written."""
    today = today or date.today()
    rx = order.prescription
    facts = rules.RxFacts(
        rx_number=rx.rx_number,
        strength_mg=rx.strength_mg,
        strength_basis=rx.strength_basis,
        quantity=order.quantity,
        quantity_unit=order.quantity_unit,
        step_strengths_mg=frozenset(s.strength_mg for s in rx.titration_steps),
    )
    batches = _batch_facts(session, order)
    label = None
    batches_error = None
    if batches:
        try:
            data = documents.dispensing_label(session, order, preview=True)
            label = rules.LabelFacts(
                rx_number=data.rx_number,
                quantity=Decimal(data.quantity),
                batch_numbers=tuple(n.strip() for n in data.batch_number.split(",")),
                beyond_use_date=data.beyond_use_date,
                preparation=data.preparation,
            )
        except (documents.DocumentRefused, LabelError) as exc:
            batches_error = FieldError("label", str(exc))
    discrepancies = rules.compare(facts, batches, label, today)
    if batches_error is not None:
        discrepancies.append(batches_error)
    findings = rescreen.preview(session, rx, today)
    refused, pending = rescreen.preview_blocking(findings)
    return CheckView(order, facts, batches, label, discrepancies, findings, refused, pending)


def final_check(
    session: Session,
    actor: User,
    order: Order,
    *,
    notes: str = "",
    override_reason: str | None = None,
    today: date | None = None,
    sign: signatures.SignOff | None,
) -> FinalCheck:
    """A pharmacist confirms product, label and prescription match (ready -> checked).

    Refused: not a pharmacist, not ready, any discrepancy, a refused screening finding, or a
    new contraindication without an override reason (MIN_REASON characters)."""
    lifecycle.check_transition("order", order.status, "checked", roles=actor.roles)
    signatures.check_password(actor, sign)
    training.require_current(session, actor, "final_check", today)
    view = check_view(session, order, today)
    if view.discrepancies:
        raise ValidationFailed(view.discrepancies)
    rescreen.rescreen(
        session, actor, order.prescription, f"screened again at the final check of {order.number}"
    )
    overridden = rescreen.override_blocking(
        session, actor, order.prescription, override_reason, step="pass the final check"
    )
    row = FinalCheck(
        order_id=order.id,
        checked_by_id=actor.id,
        compared=view.compared(),
        notes=(notes or "").strip() or None,
        override_reason=(override_reason or "").strip() if overridden else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "order.final_check",
        "rx_order",
        order.id,
        None,
        {"final_check_id": row.id, "checked_by": actor.initials, **row.compared},
        reason=row.override_reason,
    )
    signatures.record(
        session,
        actor,
        "final_check",
        "rx_order",
        order.id,
        {"order": order.number, "final_check_id": row.id, **row.compared},
    )
    order_service.transition(
        session, actor, order, "checked", reason=row.notes, event="final_check"
    )
    return row


_LATEST_CHECK = (  # built once: the order page asks on every view of a checked order
    select(FinalCheck)
    .where(FinalCheck.order_id == bindparam("order_id"))
    .order_by(FinalCheck.id.desc())
    .limit(1)
)
_HANDOUT = select(Handout).where(Handout.order_id == bindparam("order_id"))


def latest_check(session: Session, order: Order) -> FinalCheck | None:
    return session.scalar(_LATEST_CHECK, {"order_id": order.id})


@dataclass
class HandoutStatus:
    """Where an order stands before hand-out (the page shows it; `hand_out` enforces it)."""

    check: FinalCheck | None
    label_print: LabelPrint | None  # the first label printed after the final check
    scan: LabelScan | None  # a matching scan after that print
    missing: list[str] = field(default_factory=list)


def handout_status(session: Session, order: Order) -> HandoutStatus:
    check = latest_check(session, order)
    printed = scan = None
    if check is not None:
        printed = session.scalar(
            select(LabelPrint)
            .where(
                LabelPrint.entity == "rx_order",
                LabelPrint.entity_id == str(order.id),
                LabelPrint.document.in_(LABEL_DOCUMENTS),
                LabelPrint.printed_at >= check.checked_at,
            )
            .order_by(LabelPrint.id)
            .limit(1)
        )
    if printed is not None:
        scan = session.scalar(
            select(LabelScan)
            .where(LabelScan.order_id == order.id, LabelScan.scanned_at >= printed.printed_at)
            .order_by(LabelScan.id.desc())
            .limit(1)
        )
    missing = []
    if check is None:
        missing.append("the pharmacist's final check")
    if printed is None:
        missing.append("the label printed after the final check")
    if scan is None:
        missing.append("the label's barcode scanned")
    return HandoutStatus(check, printed, scan, missing)


@dataclass(frozen=True)
class HandoutInput:
    method: str  # "pickup" or "shipped"
    counsel_outcome: str  # "accepted" or "declined"
    counsel_notes: str = ""
    scan_waived_reason: str = ""  # a pharmacist's reason to hand out without a scan
    # A contraindication found after the final check (the patient record changed): a
    # pharmacist overrides it with a reason, or the order is held.
    override_reason: str = ""


def _handout_errors(actor: User, state: HandoutStatus, data: HandoutInput) -> list[FieldError]:
    errors = []
    if data.method not in order_service.DISPENSE_METHODS:
        errors.append(FieldError("method", "choose pick-up or shipped"))
    if data.counsel_outcome not in COUNSEL_OUTCOMES:
        errors.append(
            FieldError("counsel_outcome", "record the offer to counsel: accepted or declined")
        )
    elif data.counsel_outcome == "accepted" and not actor.has_role("pharmacist"):
        errors.append(
            FieldError(
                "counsel_outcome",
                "counselling accepted: a pharmacist counsels the patient and records the hand-out",
            )
        )
    if state.label_print is None:
        errors.append(
            FieldError("label", "print the dispensing label (after the final check) first")
        )
    waived = (data.scan_waived_reason or "").strip()
    if state.scan is None and state.label_print is not None:
        if not waived:
            errors.append(
                FieldError(
                    "scan",
                    "scan the label's barcode, or a pharmacist records why it cannot be scanned",
                )
            )
        elif not actor.has_role("pharmacist"):
            errors.append(
                FieldError("scan_waived_reason", "only a pharmacist may hand out unscanned")
            )
        elif len(waived) < MIN_REASON:
            errors.append(
                FieldError(
                    "scan_waived_reason",
                    f"say why the label cannot be scanned (at least {MIN_REASON} characters)",
                )
            )
    return errors


def hand_out(session: Session, actor: User, order: Order, data: HandoutInput) -> Handout:
    """The order leaves the pharmacy (checked -> dispensed), in one transaction."""
    lifecycle.check_transition("order", order.status, "dispensed", roles=actor.roles)
    state = handout_status(session, order)
    if state.check is None:
        raise TransitionNotAllowed(f"Order {order.number} has no pharmacist's final check.")
    errors = _handout_errors(actor, state, data)
    pending = rescreen.blocking(order.prescription)
    if pending and not actor.has_role("pharmacist"):
        errors.append(
            FieldError(
                "findings",
                "screening found "
                + ", ".join(sorted({f.code.replace("_", " ") for f in pending}))
                + " since the final check: a pharmacist reviews it before hand-out",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    if pending:
        rescreen.override_blocking(
            session, actor, order.prescription, data.override_reason, step="hand out"
        )
    waived = None if state.scan else data.scan_waived_reason.strip()
    row = Handout(
        order_id=order.id,
        method=data.method,
        label_print_id=state.label_print.id,
        label_scan_id=state.scan.id if state.scan else None,
        scan_waived_reason=waived,
        scan_waived_by_id=actor.id if waived else None,
        counsel_outcome=data.counsel_outcome,
        counselled_by_id=actor.id,
        counsel_notes=(data.counsel_notes or "").strip(),
        handed_out_by_id=actor.id,
        handed_out_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "order.handout",
        "rx_order",
        order.id,
        None,
        {
            "handout_id": row.id,
            "method": row.method,
            "label_print_id": row.label_print_id,
            "label_scan_id": row.label_scan_id,
            "counsel_outcome": row.counsel_outcome,
            "counsel_notes": row.counsel_notes,
        },
        reason=waived,
    )
    order_service.transition(
        session, actor, order, "dispensed", dispensed_via=data.method, event="handout"
    )
    return row


def latest_handout(session: Session, order: Order) -> Handout | None:
    return session.scalar(_HANDOUT, {"order_id": order.id})


# --- plain views for the JSON API -------------------------------------------------------------


def check_view_dict(view: CheckView) -> dict:
    """What the final-check screen compares, as JSON-safe data."""
    return {
        **view.compared(),
        "discrepancies": [{"field": e.field, "message": e.message} for e in view.discrepancies],
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "overridden": f.overridden_at is not None,
            }
            for f in view.findings
        ],
        "needs_override": bool(view.pending),
        "can_pass": not view.discrepancies and not view.refused,
    }


def handout_status_dict(state: HandoutStatus) -> dict:
    check = state.check
    return audit._plain(
        {
            "final_check": None
            if check is None
            else {
                "id": check.id,
                "checked_by": check.checked_by.username,
                "rph_initials": check.checked_by.initials,
                "checked_at": check.checked_at,
            },
            "label_print_id": state.label_print.id if state.label_print else None,
            "label_scan_id": state.scan.id if state.scan else None,
            "missing": state.missing,
        }
    )


def handout_dict(row: Handout) -> dict:
    return audit._plain(
        {
            "id": row.id,
            "order_id": row.order_id,
            "method": row.method,
            "label_print_id": row.label_print_id,
            "label_scan_id": row.label_scan_id,
            "scan_waived_reason": row.scan_waived_reason,
            "counsel_outcome": row.counsel_outcome,
            "counselled_by": row.counselled_by.username,
            "counsel_notes": row.counsel_notes,
            "handed_out_by": row.handed_out_by.username,
            "handed_out_at": row.handed_out_at,
        }
    )
