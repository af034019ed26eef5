"""Filling orders from a released batch (batch units -> order -> ready).

Only a released, in-date batch fills (a recalled batch is no longer released). The batch's
BUD must last through the order's days' supply, or a pharmacist records why it may go out.
An order put on hold by a recall leaves the hold only here, by a fill from another batch:
units from a recalled batch no longer count towards it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ...database import ExactDecimal
from ...domain import filling
from ...domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ...models import Batch, Dispense, Order, Prescription, TitrationStep, User
from .. import audit
from .. import orders as order_service
from .common import FILLABLE_ORDER_STATUSES, _label, _lock_orders, _num, _same_formula, _whole


@dataclass(frozen=True)
class Skipped:
    order: Order
    reason: str


def requirements(order: Order) -> dict[Decimal, Decimal]:
    """Units needed per product strength (a titration may need several batches)."""
    rx = order.prescription
    steps = [(s.strength_mg, s.days, s.units_per_dose) for s in rx.titration_steps]
    return filling.requirements(
        rx.strength_mg, order.quantity, order.quantity_unit, rx.doses_per_day, steps
    )


def outstanding(session: Session, order: Order, strength_mg: Decimal | None = None) -> Decimal:
    """What the order still needs of one strength (default: the prescription's); units from
    a recalled batch do not count."""
    strength = order.prescription.strength_mg if strength_mg is None else strength_mg
    given = session.scalar(
        select(func.coalesce(func.sum(Dispense.quantity, type_=ExactDecimal(4)), 0))
        .join(Batch, Batch.id == Dispense.batch_id)
        .where(
            Dispense.order_id == order.id,
            Batch.status != "recalled",
            Batch.strength_mg == strength,
        )
    )
    return requirements(order).get(strength, Decimal(0)) - Decimal(given or 0)


def still_needed(session: Session, order: Order) -> list[tuple[Decimal, Decimal]]:
    """(strength, units not yet filled) for each strength the order takes, in strength order:
    what batches still have to be made or found for it (a titration: one per step strength)."""
    need = [(s, outstanding(session, order, s)) for s in sorted(requirements(order))]
    return [(s, n) for s, n in need if n > 0]


def fully_filled(session: Session, order: Order) -> bool:
    return all(outstanding(session, order, s) <= 0 for s in requirements(order))


recall_held = order_service.recall_held  # one query for "held by a recall", kept in orders


def _fillable(session: Session, order: Order) -> bool:
    return order.status in FILLABLE_ORDER_STATUSES or recall_held(session, order)


def units_per_dose(order: Order, batch: Batch) -> Decimal:
    """Units (capsules or mL) per dose: from the dose in mg when the prescription states it."""
    dose = getattr(order.prescription, "dose_mg", None)
    if dose and batch.strength_mg:
        return Decimal(dose) / batch.strength_mg
    return Decimal(1)


def days_supply(order: Order, batch: Batch) -> int:
    rx = order.prescription
    return filling.days_supply(order.quantity, rx.doses_per_day, units_per_dose(order, batch))


def _match_errors(session: Session, batch: Batch, order: Order) -> list[FieldError]:
    rx = order.prescription
    errors = []
    if order.quantity_unit != batch.unit:
        errors.append(
            FieldError(
                "order_id",
                f"order {order.number} is for {order.quantity_unit}, the batch is in {batch.unit}",
            )
        )
    strengths = requirements(order)
    if batch.strength_mg not in strengths or rx.strength_basis != batch.strength_basis:
        wanted = " and ".join(f"{_num(s)} mg" for s in strengths)
        errors.append(
            FieldError(
                "order_id",
                f"order {order.number} is for {wanted} ({rx.strength_basis}), "
                f"the batch is {_num(batch.strength_mg)} mg ({batch.strength_basis})",
            )
        )
    if not _same_formula(session, rx, batch.formula_id):
        errors.append(FieldError("order_id", f"order {order.number} is for another formula"))
    return errors


def _bud_reason(actor: User, batch: Batch, order: Order, today: date, reason: str) -> str | None:
    """None when the BUD lasts the days' supply; else the pharmacist's reason, or refused."""
    days = days_supply(order, batch)
    if filling.bud_covers(batch.beyond_use_date, today, days):
        return None
    reason = (reason or "").strip()
    last = filling.last_dose_day(today, days)
    why = (
        f"batch {batch.batch_number} expires {batch.beyond_use_date.isoformat()}, before the "
        f"last dose of order {order.number} on {last.isoformat()} ({days} days' supply)"
    )
    if not reason:
        raise ValidationFailed.single(
            "bud_short_reason", f"{why}: fill less, or a pharmacist records why it may go out"
        )
    if not actor.has_role("pharmacist"):
        raise ValidationFailed.single("bud_short_reason", f"{why}: only a pharmacist may allow it")
    return reason


def _bud_errors(actor: User, batch: Batch, order: Order, today: date, reason: str) -> list:
    try:
        _bud_reason(actor, batch, order, today, reason)
    except ValidationFailed as exc:
        return list(exc.errors)
    return []


def _take(session: Session, batch: Batch, n: int, today: date) -> int:
    """The batch's stock, taken by one conditional UPDATE re-checked against the committed
    row, so two concurrent fills can never overdraw it."""
    taken = session.execute(
        update(Batch)
        .where(
            Batch.id == batch.id,
            Batch.status == "released",
            Batch.beyond_use_date >= today,
            Batch.units_remaining >= n,
        )
        .values(units_remaining=Batch.units_remaining - n)
        .returning(Batch.units_remaining)
        .execution_options(synchronize_session=False)
    ).scalar()
    if taken is not None:
        return int(taken)
    session.refresh(batch)
    _check_batch(batch, today)
    raise ValidationFailed.single(
        "quantity",
        f"batch {batch.batch_number} holds {batch.units_remaining} {batch.unit}; {n} asked",
    )


def _check_storage_hold(batch: Batch) -> None:
    from sqlalchemy.orm import object_session

    from ..facility import open_hold

    if open_hold(object_session(batch), batch_id=batch.id) is not None:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is on hold after a temperature excursion: a "
            "pharmacist must release it back first (Facility page)."
        )


def _check_batch(batch: Batch, today: date) -> None:
    if batch.status != "released":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: only a released batch "
            "can fill orders."
        )
    if batch.beyond_use_date < today:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} passed its beyond-use date "
            f"{batch.beyond_use_date.isoformat()}."
        )
    _check_storage_hold(batch)


def _advance(session: Session, actor: User, order: Order, batch: Batch) -> None:
    """A completely filled order moves on to `ready` (a recall hold leaves by this fill)."""
    why = f"filled from released batch {batch.batch_number}"
    for target in filling.path_to_ready(order.status, order.held_from):
        # The product check was the pharmacist's release of the batch; this move follows it.
        order_service.transition(
            session, actor, order, target, reason=why, check_roles=target != "ready", by_fill=True
        )


def dispense(
    session: Session,
    actor: User,
    batch_id: int,
    order_id: int | None,
    quantity,
    today: date | None = None,
    bud_short_reason: str = "",
) -> Dispense:
    """Fill an order from a released, in-date batch whose BUD lasts the days' supply."""
    today = today or date.today()
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise ValidationFailed.single("batch_id", "is not a known batch")
    order = session.get(Order, order_id) if order_id else None
    if order is None:
        raise ValidationFailed.single("order_id", "choose the order to fill")
    try:
        n = _whole(quantity, "quantity")
    except ValidationFailed as exc:
        # The order's own problems too, so the form shows them with this one (nothing taken).
        errors = [*exc.errors, *_match_errors(session, batch, order)]
        if len(errors) == len(exc.errors):
            errors.extend(_bud_errors(actor, batch, order, today, bud_short_reason))
        raise ValidationFailed(errors) from None
    _check_batch(batch, today)
    errors = _match_errors(session, batch, order)
    if errors:
        raise ValidationFailed(errors)

    remaining = _take(session, batch, n, today)  # lock 1: the batch
    order = _lock_orders(session, [order.id])[0]  # lock 2: the order, then count what it needs
    if not _fillable(session, order):
        raise TransitionNotAllowed(
            f"Order {order.number} is {_label(order.status)}: only a verified order in "
            "progress (or one held by a recall) can be filled."
        )
    need = outstanding(session, order, batch.strength_mg)
    if n > need:
        raise ValidationFailed.single(
            "quantity",
            f"order {order.number} needs {_num(need)} more {order.quantity_unit}; {n} asked",
        )
    bud_reason = _bud_reason(actor, batch, order, today, bud_short_reason)
    row = Dispense(
        order_id=order.id,
        batch_id=batch.id,
        quantity=Decimal(n),
        unit=batch.unit,
        dispensed_by_id=actor.id,
        bud_short_reason=bud_reason,
    )
    session.add(row)
    session.flush()
    session.expire(batch, ["units_remaining"])
    new = {"units_remaining": remaining, "dispense_id": row.id, "order_id": order.id, "quantity": n}
    if bud_reason:
        new["bud_short_reason"] = bud_reason
    audit.record(
        session,
        actor,
        "batch.dispense",
        "batch",
        batch.id,
        {"units_remaining": remaining + n},
        new,
        reason=bud_reason,
    )
    if n == need and fully_filled(session, order):  # every strength of a titration too
        _advance(session, actor, order, batch)
    return row


def fillable_orders(session: Session, batch: Batch, limit: int = 200) -> list[Order]:
    """Open orders this batch could fill (same unit, strength and basis), and orders held by
    a recall of another batch."""
    step_of_this_strength = (
        select(TitrationStep.id)
        .where(
            TitrationStep.prescription_id == Prescription.id,
            TitrationStep.strength_mg == batch.strength_mg,
        )
        .exists()
    )
    rows = session.scalars(
        select(Order)
        .join(Prescription, Prescription.id == Order.prescription_id)
        .where(
            Order.status.in_((*FILLABLE_ORDER_STATUSES, "on_hold")),
            Order.quantity_unit == batch.unit,
            or_(Prescription.strength_mg == batch.strength_mg, step_of_this_strength),
            Prescription.strength_basis == batch.strength_basis,
        )
        .order_by(Order.id)
        .limit(limit)
    )
    return [
        o
        for o in rows
        if batch.strength_mg in requirements(o)
        and (o.status != "on_hold" or recall_held(session, o))
    ]


def fill_all(
    session: Session, actor: User, batch_id: int, today: date | None = None
) -> tuple[list[Dispense], list[Skipped]]:
    """Fill every open matching order the batch can cover completely, oldest first, in the
    caller's one transaction; each fill is audited. Orders it cannot cover are listed why."""
    today = today or date.today()
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise ValidationFailed.single("batch_id", "is not a known batch")
    _check_batch(batch, today)
    filled, skipped = [], []
    left = batch.units_remaining
    for order in fillable_orders(session, batch, limit=1000):
        need = outstanding(session, order, batch.strength_mg)
        why = _skip_reason(session, actor, batch, order, need, left, today)
        if why:
            skipped.append(Skipped(order, why))
            continue
        filled.append(dispense(session, actor, batch.id, order.id, int(need), today))
        left -= int(need)
    if not filled:
        raise ValidationFailed.single(
            "batch_id",
            "no order could be filled completely: "
            + ("; ".join(f"{s.order.number}: {s.reason}" for s in skipped) or "no open orders"),
        )
    return filled, skipped


def _skip_reason(session, actor, batch, order, need: Decimal, left: int, today) -> str | None:
    if need <= 0:
        return "nothing outstanding"
    if need != need.to_integral_value():
        return f"needs {_num(need)} {order.quantity_unit}, not a whole number"
    if need > left:
        return f"needs {_num(need)} {order.quantity_unit}; {left} left in the batch"
    errors = _match_errors(session, batch, order)
    if errors:
        return errors[0].message
    if not filling.bud_covers(batch.beyond_use_date, today, days_supply(order, batch)):
        return "the batch's BUD ends before the days' supply: fill it on its own with a reason"
    return None
