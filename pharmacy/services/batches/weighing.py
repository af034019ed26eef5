"""Recording the actual weights (and volumes) of a batch's ingredient lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from ...database import utcnow
from ...domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ...models import Balance, Batch, User
from .. import audit
from .common import (
    MASS_UNITS,
    _label,
    _lock_batch,
    _lock_lots,
    _num,
    deviation_percent,
    on_hand,
    tolerance_of,
)


@dataclass(frozen=True)
class WeightEntry:
    usage_id: int
    actual: Decimal | None
    balance_id: int | None = None
    deviation_reason: str = ""


def record_weights(
    session: Session, actor: User, batch: Batch, entries: Sequence[WeightEntry]
) -> Batch:
    # Fixed lock order: the batch's lots first, then the batch itself.
    lot_ids = sorted({u.lot_id for u in batch.lot_usages})
    _lock_lots(session, (), lot_ids)
    batch = _lock_batch(session, batch.id)
    if batch.status != "in_progress":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: weights can only be "
            "recorded while it is in progress."
        )
    today = date.today()
    tolerance = tolerance_of(batch)
    usages = {u.id: u for u in batch.lot_usages}
    errors: list[FieldError] = []
    changes = []
    for e in entries:
        u = usages.get(e.usage_id)
        if u is None:
            errors.append(FieldError(f"actual_{e.usage_id}", "is not a line of this batch"))
            continue
        f = f"actual_{u.id}"
        if e.actual is None:
            errors.append(FieldError(f, "enter the actual quantity"))
            continue
        if not e.actual.is_finite() or e.actual <= 0:
            errors.append(FieldError(f, "must be more than zero"))
            continue
        if -e.actual.as_tuple().exponent > 4:
            errors.append(FieldError(f, "at most 4 decimal places"))
            continue
        balance = None
        if u.unit in MASS_UNITS:
            balance = session.get(Balance, e.balance_id) if e.balance_id else None
            if balance is None or not balance.active:
                errors.append(FieldError(f"balance_{u.id}", "choose the balance used"))
            elif balance.calibration_due < today:
                errors.append(
                    FieldError(
                        f"balance_{u.id}",
                        f"{balance.name} was due for calibration on "
                        f"{balance.calibration_due.isoformat()}; it cannot be used",
                    )
                )
        deviation = deviation_percent(u.planned_quantity, e.actual)
        reason = (e.deviation_reason or "").strip()
        if deviation > tolerance and not reason:
            errors.append(
                FieldError(
                    f"reason_{u.id}",
                    f"{_num(e.actual)} {u.unit} is {deviation}% from the planned "
                    f"{_num(u.planned_quantity)} {u.unit} (tolerance ±{_num(tolerance)}%): "
                    "explain the deviation",
                )
            )
        changes.append((u, e.actual, balance, reason if deviation > tolerance else None))
    missing = set(usages) - {e.usage_id for e in entries}
    errors += [FieldError(f"actual_{i}", "enter the actual quantity") for i in sorted(missing)]
    if errors:
        raise ValidationFailed(errors)

    # Stock on the (already locked) lots: the new actual replaces what was counted before.
    stock = on_hand(session, lot_ids)
    for u, actual, _b, _r in changes:
        current = u.actual_quantity if u.actual_quantity is not None else u.planned_quantity
        if stock[u.lot_id] + current - actual < 0:
            errors.append(
                FieldError(
                    f"actual_{u.id}",
                    f"lot {u.lot.lot_number} holds only {_num(stock[u.lot_id] + current)} {u.unit}",
                )
            )
        stock[u.lot_id] += current - actual
    if errors:
        raise ValidationFailed(errors)

    old, new = {}, {}
    now = utcnow()
    for u, actual, balance, reason in changes:
        old[str(u.id)] = {
            "actual_quantity": u.actual_quantity,
            "balance_id": u.balance_id,
            "deviation_reason": u.deviation_reason,
        }
        u.actual_quantity = actual
        u.balance_id = balance.id if balance else None
        u.deviation_reason = reason
        u.weighed_by_id = actor.id
        u.weighed_at = now
        new[str(u.id)] = {
            "actual_quantity": actual,
            "balance_id": u.balance_id,
            "deviation_reason": reason,
            "deviation_percent": deviation_percent(u.planned_quantity, actual),
        }
    session.flush()
    audit.record(session, actor, "batch.weights", "batch", batch.id, old, new)
    return batch
