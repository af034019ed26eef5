"""Filling orders from a released batch (batch units -> order -> ready)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...database import ExactDecimal
from ...domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ...models import Batch, Dispense, Order, Prescription, User
from .. import audit
from .. import orders as order_service
from .common import FILLABLE_ORDER_STATUSES, _label, _lock_orders, _num, _same_formula, _whole


def outstanding(session: Session, order: Order) -> Decimal:
    given = session.scalar(
        select(func.coalesce(func.sum(Dispense.quantity, type_=ExactDecimal(4)), 0)).where(
            Dispense.order_id == order.id
        )
    )
    return order.quantity - Decimal(given or 0)


def dispense(
    session: Session,
    actor: User,
    batch_id: int,
    order_id: int | None,
    quantity,
    today: date | None = None,
) -> Dispense:
    """Fill an order from a released, in-date batch. The batch's stock is taken with one
    conditional UPDATE, so two concurrent dispenses can never overdraw it."""
    today = today or date.today()
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise ValidationFailed.single("batch_id", "is not a known batch")
    order = session.get(Order, order_id) if order_id else None
    if order is None:
        raise ValidationFailed.single("order_id", "choose the order to fill")
    n = _whole(quantity, "quantity")
    rx = order.prescription
    if batch.status != "released":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: only a released batch "
            "can fill orders."
        )
    errors = []
    if order.quantity_unit != batch.unit:
        errors.append(
            FieldError(
                "order_id",
                f"order {order.number} is for {order.quantity_unit}, the batch is in {batch.unit}",
            )
        )
    if (rx.strength_mg, rx.strength_basis) != (batch.strength_mg, batch.strength_basis):
        errors.append(
            FieldError(
                "order_id",
                f"order {order.number} is for {_num(rx.strength_mg)} mg ({rx.strength_basis}), "
                f"the batch is {_num(batch.strength_mg)} mg ({batch.strength_basis})",
            )
        )
    if not _same_formula(session, rx, batch.formula_id):
        errors.append(FieldError("order_id", f"order {order.number} is for another formula"))
    if errors:
        raise ValidationFailed(errors)

    # Lock 1: the batch, by a conditional UPDATE re-checked against the committed row.
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
    if taken is None:
        session.refresh(batch)
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
        raise ValidationFailed.single(
            "quantity",
            f"batch {batch.batch_number} holds {batch.units_remaining} {batch.unit}; {n} asked",
        )
    remaining = int(taken)

    # Lock 2: the order; what it still needs is counted after the lock is held.
    order = _lock_orders(session, [order.id])[0]
    if order.status not in FILLABLE_ORDER_STATUSES:
        raise TransitionNotAllowed(
            f"Order {order.number} is {_label(order.status)}: only a verified order in "
            "progress can be filled."
        )
    need = outstanding(session, order)
    if n > need:
        raise ValidationFailed.single(
            "quantity",
            f"order {order.number} needs {_num(need)} more {order.quantity_unit}; {n} asked",
        )
    row = Dispense(
        order_id=order.id,
        batch_id=batch.id,
        quantity=Decimal(n),
        unit=batch.unit,
        dispensed_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    session.expire(batch, ["units_remaining"])
    audit.record(
        session,
        actor,
        "batch.dispense",
        "batch",
        batch.id,
        {"units_remaining": remaining + n},
        {
            "units_remaining": remaining,
            "dispense_id": row.id,
            "order_id": order.id,
            "quantity": n,
        },
    )
    if n == need:
        why = f"filled from released batch {batch.batch_number}"
        path = {
            "verified": ["ready"],
            "in_compounding": ["quality_check", "ready"],
            "quality_check": ["ready"],
        }[order.status]
        for target in path:
            # The product check was the pharmacist's release of the batch; this move follows it.
            order_service.transition(
                session, actor, order, target, reason=why, check_roles=target != "ready"
            )
    return row


def fillable_orders(session: Session, batch: Batch, limit: int = 200) -> list[Order]:
    """Open orders this batch could fill (same unit, strength and basis)."""
    return list(
        session.scalars(
            select(Order)
            .join(Prescription, Prescription.id == Order.prescription_id)
            .where(
                Order.status.in_(FILLABLE_ORDER_STATUSES),
                Order.quantity_unit == batch.unit,
                Prescription.strength_mg == batch.strength_mg,
                Prescription.strength_basis == batch.strength_basis,
            )
            .order_by(Order.id)
            .limit(limit)
        )
    )
