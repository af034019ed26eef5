"""Recording the actual weights (and volumes) of a batch's ingredient lines, and the
pharmacist's sign-off of an API weight outside its tolerance (with the plan recalculated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from ...database import utcnow
from ...domain import weighing
from ...domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ...models import Balance, Batch, BatchLotUsage, User
from .. import audit, scanning, training
from .common import (
    MASS_UNITS,
    _label,
    _lock_batch,
    _lock_lots,
    _num,
    api_tolerance_of,
    deviation_percent,
    line_tolerance,
    on_hand,
    unsigned_api_deviations,
)
from .qc import planned_output as planned_output_of


@dataclass(frozen=True)
class WeightEntry:
    usage_id: int
    actual: Decimal | None
    balance_id: int | None = None
    deviation_reason: str = ""
    # The container's barcode scanned at the bench (optional; a wrong one is refused).
    scan: str = ""
    # Read from the balance (services.balance_capture.verify_capture), else typed.
    captured: bool = False


def _in_progress(batch: Batch, what: str) -> None:
    if batch.status != "in_progress":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: {what} only while it is "
            "in progress."
        )


def _balance_errors(session, u: BatchLotUsage, e: WeightEntry, today: date):
    """The balance used, in calibration, and the weight not below its minimum weighable
    quantity (a smaller weight on that balance is not accurate enough)."""
    if u.unit not in MASS_UNITS:
        return None, []
    balance = session.get(Balance, e.balance_id) if e.balance_id else None
    if balance is None or not balance.active:
        return None, [FieldError(f"balance_{u.id}", "choose the balance used")]
    if balance.calibration_due < today:
        return balance, [
            FieldError(
                f"balance_{u.id}",
                f"{balance.name} was due for calibration on "
                f"{balance.calibration_due.isoformat()}; it cannot be used",
            )
        ]
    in_mg = e.actual * MASS_UNITS[u.unit]
    if weighing.below_mwq(in_mg, balance.mwq_mg):
        return balance, [
            FieldError(
                f"actual_{u.id}",
                f"{_num(e.actual)} {u.unit} is below the minimum weighable quantity of "
                f"{balance.name} ({_num(balance.mwq_mg)} mg): weigh at least that much "
                "(use an aliquot)",
            )
        ]
    return balance, []


def _check_entry(session, batch: Batch, u: BatchLotUsage, e: WeightEntry, today: date):
    f = f"actual_{u.id}"
    if e.actual is None:
        return None, [FieldError(f, "enter the actual quantity")]
    if not e.actual.is_finite() or e.actual <= 0:
        return None, [FieldError(f, "must be more than zero")]
    if -e.actual.as_tuple().exponent > 4:
        return None, [FieldError(f, "at most 4 decimal places")]
    balance, errors = _balance_errors(session, u, e, today)
    scanned = None
    if (e.scan or "").strip():
        try:
            scanned = scanning.check_container(u, e.scan)
        except ValidationFailed as exc:
            errors += exc.errors
    tolerance = line_tolerance(batch, u.role)
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
    extra = {"container_scan": scanned, "weight_source": "captured" if e.captured else "typed"}
    return (u, e.actual, balance, reason if deviation > tolerance else None, extra), errors


def _check_stock(session, lot_ids, changes) -> list[FieldError]:
    """Stock on the (already locked) lots: the new actual replaces what was counted before."""
    stock = on_hand(session, lot_ids)
    errors = []
    for u, actual, _b, _r, _x in changes:
        if u.role in weighing.NOT_FROM_STOCK_ROLES:
            continue
        current = u.actual_quantity if u.actual_quantity is not None else u.planned_quantity
        if stock[u.lot_id] + current - actual < 0:
            errors.append(
                FieldError(
                    f"actual_{u.id}",
                    f"lot {u.lot.lot_number} holds only {_num(stock[u.lot_id] + current)} {u.unit}",
                )
            )
        stock[u.lot_id] += current - actual
    return errors


def record_weights(
    session: Session, actor: User, batch: Batch, entries: Sequence[WeightEntry]
) -> Batch:
    training.require_current(session, actor, "compounding")
    # Fixed lock order: the batch's lots first, then the batch itself.
    lot_ids = sorted({u.lot_id for u in batch.lot_usages})
    _lock_lots(session, (), lot_ids)
    batch = _lock_batch(session, batch.id)
    _in_progress(batch, "weights can be recorded")
    today = date.today()
    usages = {u.id: u for u in batch.lot_usages}
    errors: list[FieldError] = []
    changes = []
    for e in entries:
        u = usages.get(e.usage_id)
        if u is None:
            errors.append(FieldError(f"actual_{e.usage_id}", "is not a line of this batch"))
            continue
        change, why = _check_entry(session, batch, u, e, today)
        errors += why
        if change is not None:
            changes.append(change)
    missing = set(usages) - {e.usage_id for e in entries}
    errors += [FieldError(f"actual_{i}", "enter the actual quantity") for i in sorted(missing)]
    if errors:
        raise ValidationFailed(errors)
    errors = _check_stock(session, lot_ids, changes)
    if errors:
        raise ValidationFailed(errors)
    _write_weights(session, actor, batch, changes)
    return batch


def _write_weights(session, actor: User, batch: Batch, changes) -> None:
    old, new = {}, {}
    now = utcnow()
    for u, actual, balance, reason, extra in changes:
        old[str(u.id)] = {
            "actual_quantity": u.actual_quantity,
            "balance_id": u.balance_id,
            "deviation_reason": u.deviation_reason,
            "signed_off_by_id": u.signed_off_by_id,
            "weight_source": u.weight_source,
            "container_scan": u.container_scan,
        }
        if actual != u.actual_quantity:
            # A new weight is a new fact: an earlier sign-off was for the old one.
            u.signed_off_by_id = u.signed_off_at = u.sign_off_reason = None
        u.actual_quantity = actual
        u.weight_source = extra["weight_source"]
        # A new scan replaces the old; no scan this time keeps the earlier one for the same lot.
        u.container_scan = extra["container_scan"] or u.container_scan
        u.balance_id = balance.id if balance else None
        u.deviation_reason = reason
        u.weighed_by_id = actor.id
        u.weighed_at = now
        new[str(u.id)] = {
            "actual_quantity": actual,
            "balance_id": u.balance_id,
            "deviation_reason": reason,
            "deviation_percent": deviation_percent(u.planned_quantity, actual),
            "weight_source": u.weight_source,
            "container_scan": u.container_scan,
        }
    session.flush()
    held = unsigned_api_deviations(batch)
    if held:
        new["held"] = [u.id for u in held]
    audit.record(session, actor, "batch.weights", "batch", batch.id, old, new)


# --- the pharmacist's sign-off of an API weight outside its tolerance --------------------------


def dose_ratio(batch: Batch) -> Decimal:
    """API actually in the batch over API planned. With an aliquot, what the aliquot taken
    carries: its weight times the stock's real concentration."""
    by_role = {u.role: u for u in batch.lot_usages}

    def actual(role: str) -> Decimal:
        u = by_role[role]
        return u.actual_quantity if u.actual_quantity is not None else u.planned_quantity

    active = by_role["active"]
    if "aliquot" not in by_role:
        return actual("active") / active.planned_quantity
    stock_planned = active.planned_quantity + by_role["diluent"].planned_quantity
    stock_actual = actual("active") + actual("diluent")
    planned_api = by_role["aliquot"].planned_quantity * active.planned_quantity / stock_planned
    real_api = actual("aliquot") * actual("active") / stock_actual
    return real_api / planned_api


def _recalculate(batch: Batch, ratio: Decimal) -> dict:
    """Scale the rest of the plan to the API really weighed, so every unit keeps its strength
    (capsule shells follow the whole number of capsules)."""
    kind = batch.calculation["request"]["kind"]
    recalc: dict = {"ratio": ratio.quantize(Decimal("0.0001"))}
    earlier = batch.calculation.get("recalculations", [])
    # The plan may already follow an earlier sign-off: scale from where it stands now.
    before = Decimal(earlier[-1]["exact_ratio"]) if earlier else Decimal(1)
    recalc["exact_ratio"] = str(ratio)
    ratio = ratio / before
    asked = int(batch.calculation["request"]["quantity"])
    output = planned_output_of(batch)
    if kind == "capsule":
        old_made = int(output["capsules_to_make"])
        made = weighing.rescale_units(old_made, ratio)
        recalc["capsules_to_make"] = made
        recalc["units_planned"] = min(asked, made)
    else:
        volume = weighing.rescale(Decimal(str(output["prepare_volume_ml"])), ratio, "0.1")
        recalc["prepare_volume_ml"] = volume
        recalc["units_planned"] = min(asked, int(volume))
    changed = {}
    for u in batch.lot_usages:
        if u.role in weighing.DOSE_ROLES:
            continue
        if u.role == "capsule_shell":
            new = weighing.rescale(u.planned_quantity, Decimal(made) / Decimal(old_made))
        elif u.role == "vehicle" and kind == "liquid":
            new = recalc["prepare_volume_ml"]  # q.s. to the recalculated volume
        else:
            new = weighing.rescale(u.planned_quantity, ratio)
        changed[str(u.id)] = {"old_planned": u.planned_quantity, "new_planned": new}
        u.planned_quantity = new
    recalc["lines"] = changed
    return recalc


def sign_off_api_weight(session: Session, actor: User, batch: Batch, reason: str) -> Batch:
    """A pharmacist accepts the API weighed outside tolerance; the rest of the plan is
    recalculated from it and the batch may go on. Recorded on the lines, in the batch's
    calculation (old plan kept in the audit) and in the audit trail."""
    batch = _lock_batch(session, batch.id)
    _in_progress(batch, "an API weight can be signed off")
    if not actor.has_role("pharmacist"):
        raise TransitionNotAllowed("Only a pharmacist can sign off an API weight.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.single("sign_off_reason", "say why the batch may go on")
    pending = unsigned_api_deviations(batch)
    if not pending:
        raise ValidationFailed.single(
            "sign_off_reason", "no API weight is outside its tolerance; nothing to sign off"
        )
    ratio = dose_ratio(batch)
    now = utcnow()
    for u in pending:
        u.signed_off_by_id, u.signed_off_at, u.sign_off_reason = actor.id, now, reason
    old_units = batch.units_planned
    recalc = _recalculate(batch, ratio)
    recalc.update(
        {
            "signed_off_by_id": actor.id,
            "signed_off_by": actor.full_name,
            "at": now.isoformat(),
            "reason": reason,
        }
    )
    batch.units_planned = recalc["units_planned"]
    calculation = dict(batch.calculation)
    calculation["recalculations"] = [*calculation.get("recalculations", []), recalc]
    batch.calculation = audit._plain(calculation)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.api_sign_off",
        "batch",
        batch.id,
        {"units_planned": old_units},
        audit._plain(
            {
                "units_planned": batch.units_planned,
                "usage_ids": [u.id for u in pending],
                "api_tolerance_percent": api_tolerance_of(batch),
                **recalc,
            }
        ),
        reason=reason,
    )
    return batch
