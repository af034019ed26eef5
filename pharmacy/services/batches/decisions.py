"""The pharmacist's decisions on a batch: release, reject, recall (of a batch or of a lot)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...database import utcnow
from ...domain import lifecycle
from ...domain.errors import TransitionNotAllowed, ValidationFailed
from ...models import Batch, BatchLotUsage, Dispense, IngredientLot, Order, User
from .. import audit, inventory, signatures, training
from .. import orders as order_service
from .common import RECALL_HOLD_STATUSES, _is_independent, _lock_batch, _lock_orders, _move


def _signed_batch(batch: Batch) -> dict:
    """What the pharmacist attests meets specifications: the batch, its lots and QC results."""
    view = audit.snapshot(batch)
    for key in ("status", "released_at", "updated_at", "units_remaining", "decision_reason"):
        view.pop(key, None)
    view["lots"] = [
        {"lot_id": u.lot_id, "lot_number": u.lot.lot_number, "actual_quantity": u.actual_quantity}
        for u in batch.lot_usages
    ]
    view["qc"] = [audit.snapshot(q) for q in batch.qc_results]
    return view


def release(
    session: Session,
    actor: User,
    batch: Batch,
    note: str = "",
    *,
    sign: signatures.SignOff | None,
) -> Batch:
    """Release a checked batch for dispensing, electronically signed."""
    batch = _lock_batch(session, batch.id)
    lifecycle.check_transition("batch", batch.status, "released", roles=actor.roles)
    signatures.check_password(actor, sign)
    training.require_current(session, actor, "release")
    if not _is_independent(actor, batch):
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number}: you compounded or weighed this batch; another "
            "pharmacist must check and release it."
        )
    if batch.beyond_use_date < date.today():
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} passed its beyond-use date "
            f"{batch.beyond_use_date.isoformat()}; reject it."
        )
    from ..facility import open_hold

    if open_hold(session, batch_id=batch.id) is not None:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is on hold after a temperature excursion; decide the "
            "hold first (Facility page)."
        )
    bad = [u.lot for u in batch.lot_usages if u.lot.status in ("recalled", "rejected")]
    if bad:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} used lot(s) now "
            + ", ".join(f"{lot.lot_number} ({lot.status})" for lot in bad)
            + "; reject it."
        )
    old = {"units_remaining": batch.units_remaining, "checked_by_id": batch.checked_by_id}
    batch.checked_by_id = actor.id
    batch.released_at = utcnow()
    batch.decision_reason = (note or "").strip() or None
    batch.status = "released"
    batch.units_remaining = batch.units_made or 0
    session.flush()
    old["status"] = "awaiting_check"
    audit.record(
        session,
        actor,
        "batch.release",
        "batch",
        batch.id,
        old,
        {
            "status": "released",
            "units_remaining": batch.units_remaining,
            "checked_by_id": actor.id,
        },
        reason=batch.decision_reason,
    )
    signatures.record(session, actor, "batch_release", "batch", batch.id, _signed_batch(batch))
    return batch


def reject(session: Session, actor: User, batch: Batch, reason: str) -> Batch:
    batch = _lock_batch(session, batch.id)
    lifecycle.check_transition("batch", batch.status, "rejected", roles=actor.roles, reason=reason)
    if batch.status == "awaiting_check" and not _is_independent(actor, batch):
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number}: you compounded or weighed this batch; another "
            "pharmacist must decide on it."
        )
    reason = reason.strip()
    if batch.status == "awaiting_check":
        batch.checked_by_id = actor.id
    batch.decision_reason = reason
    _move(session, actor, batch, "rejected", reason)
    for o in _lock_orders(session, (o.id for o in batch.orders)):
        if o.status == "quality_check":
            order_service.transition(
                session,
                actor,
                o,
                "in_compounding",
                reason=f"batch {batch.batch_number} rejected: {reason}",
            )
    return batch


def recall(session: Session, actor: User, batch: Batch, reason: str) -> list[Order]:
    """Recall a released batch: no further dispensing; open orders that got units go on hold."""
    batch = _lock_batch(session, batch.id)
    lifecycle.check_transition("batch", batch.status, "recalled", roles=actor.roles, reason=reason)
    reason = reason.strip()
    batch.recalled_at = utcnow()
    batch.recalled_by_id = actor.id
    batch.recall_reason = reason
    _move(session, actor, batch, "recalled", reason)
    order_ids = session.scalars(
        select(Dispense.order_id).where(Dispense.batch_id == batch.id).distinct()
    ).all()
    held = []
    for o in _lock_orders(session, order_ids):
        if o.status in RECALL_HOLD_STATUSES:
            order_service.transition(
                session,
                actor,
                o,
                "on_hold",
                reason=f"recall of batch {batch.batch_number}: {reason}",
                check_roles=False,
            )
            held.append(o)
    return held


def recall_lot_batches(session: Session, actor: User, lot_id: int, reason: str) -> list[Batch]:
    """Recall a lot: the lot itself, so it can never be used again, and every released
    batch made with it, in one transaction."""
    if not (reason and reason.strip()):
        raise ValidationFailed.single("reason", "a recall needs a written reason")
    lot = session.get(IngredientLot, lot_id)
    if lot is None:
        raise ValidationFailed.single("lot_id", "is not a known lot")
    if lot.status == "released":
        inventory.set_lot_status(session, actor, lot, "recalled", reason)
    ids = session.scalars(
        select(Batch.id)
        .join(BatchLotUsage, BatchLotUsage.batch_id == Batch.id)
        .where(BatchLotUsage.lot_id == lot_id, Batch.status == "released")
        .distinct()
        .order_by(Batch.id)
    ).all()
    out = []
    for batch_id in ids:
        batch = session.get(Batch, batch_id)
        recall(session, actor, batch, reason)
        out.append(batch)
    return out
