"""Shared pieces of the batch use cases: constants, locks (in the one fixed order), audit views.

Concurrency. Locks are always taken in one order, so two use cases never wait on each other
in a cycle: sequence_counter -> ingredient_lot (by id) -> batch -> rx_order (by id).
On PostgreSQL they are row locks (SELECT ... FOR UPDATE) or a conditional UPDATE whose WHERE
is re-checked against the committed row; on SQLite every write transaction starts with
BEGIN IMMEDIATE (database.configure_sqlite), so writers already run one at a time.

Every function here writes in the caller's transaction (services.unit_of_work) and records
each state change in the audit trail in that same transaction: a failure anywhere leaves
nothing half-written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ...domain import lots as lot_rules
from ...domain import weighing
from ...domain.errors import ValidationFailed
from ...models import Batch, Formula, IngredientLot, Order, Prescription, User
from .. import audit, inventory

SNAPSHOT_VERSION = 1
DEFAULT_QC_SAMPLE = 10
TRACE_PAGE = 100  # recipients per page of a trace (the CSV has them all)
# Orders a batch may be started for (in compounding: its earlier batch was rejected).
# Orders a batch may be started for. An order whose batch awaits the check (quality_check)
# may get another: a titration needs one batch per step strength.
START_ORDER_STATUSES = ("verified", "in_compounding", "quality_check")
# Orders a released batch may fill.
FILLABLE_ORDER_STATUSES = ("verified", "in_compounding", "quality_check")
# Open orders that a recall puts on hold (a dispensed order is final: the patient is contacted).
RECALL_HOLD_STATUSES = ("verified", "in_compounding", "quality_check", "ready", "checked")
MASS_UNITS = {"mg": Decimal(1), "g": Decimal(1000)}
_QUANTUM = Decimal("0.0001")

# --- helpers ----------------------------------------------------------------------------------


def _label(status: str) -> str:
    return status.replace("_", " ")


def _num(value: Decimal | int) -> str:
    d = Decimal(value)
    return f"{d.normalize():f}" if d != d.to_integral_value() else f"{d.quantize(Decimal(1))}"


def _whole(value, field_name: str, minimum: int = 1) -> int:
    try:
        d = Decimal(value)
    except Exception:  # noqa: BLE001 - anything not a number is the same input error
        raise ValidationFailed.single(field_name, "must be a whole number") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValidationFailed.single(field_name, "must be a whole number")
    if d < minimum:
        raise ValidationFailed.single(field_name, f"must be at least {minimum}")
    return int(d)


def batch_code(formula_code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", formula_code.upper())


def next_batch_number(session: Session, formula_code: str, on: date) -> str:
    """`20261126-LDNCAP-003`: date, formula code, and a per-day sequence handed out under the
    counter row's lock (the first lock any batch start takes)."""
    from ..prescriptions import next_sequence  # the shared named-counter table

    prefix = f"{on:%Y%m%d}-{batch_code(formula_code)}"
    return f"{prefix}-{next_sequence(session, f'batch:{prefix}'):03d}"


def to_lot_unit(quantity: Decimal, unit: str, lot_unit: str, field_name: str) -> Decimal:
    """A planned quantity in the lot's own unit (inventory.convert), rounded up to the
    column's 4 decimal places so a conversion never under-counts what is taken."""
    value = inventory.convert(quantity, unit, lot_unit)
    if value is None:
        raise ValidationFailed.single(
            field_name, f"the lot is counted in {lot_unit}, the formula needs {unit}"
        )
    return value.quantize(_QUANTUM, rounding=ROUND_CEILING)


def on_hand(session: Session, lot_ids: Iterable[int]) -> dict[int, Decimal]:
    """Stock per lot: the running quantity on the lot row (received + adjustments - batch
    usages, kept by the movements themselves; `flask stock verify` checks it against the sum),
    read under the lot lock the caller holds, so its cost does not grow with the lot's uses."""
    ids = sorted(set(lot_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(IngredientLot.id, IngredientLot.on_hand).where(IngredientLot.id.in_(ids))
    )
    return dict(rows.tuples().all())


def _lock_lots(session: Session, ingredient_ids: Iterable[int], extra_ids: Iterable[int]):
    """Every lot of the formula's ingredients (and any override lot), locked in id order."""
    stmt = (
        select(IngredientLot)
        .where(
            or_(
                IngredientLot.ingredient_id.in_(sorted(set(ingredient_ids))),
                IngredientLot.id.in_(sorted(set(extra_ids))),
            )
        )
        .order_by(IngredientLot.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def _domain_lot(lot: IngredientLot, stock: Mapping[int, Decimal]) -> lot_rules.Lot:
    return lot_rules.Lot(
        id=lot.lot_number,
        expiry=lot.expires_on,
        status=lot.status,
        on_hand=stock.get(lot.id, Decimal(0)),
        received_on=lot.received_on,
    )


def lot_refusals(
    lot: IngredientLot, stock: Mapping[int, Decimal], on: date, needed: Decimal | None
) -> list[str]:
    return [r.message for r in lot_rules.usability(_domain_lot(lot, stock), on, needed).reasons]


def _lock_batch(session: Session, batch_id: int) -> Batch:
    batch = session.scalar(
        select(Batch)
        .where(Batch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if batch is None:
        raise ValidationFailed.single("batch_id", "is not a known batch")
    return batch


def _lock_orders(session: Session, order_ids: Iterable[int]) -> list[Order]:
    ids = sorted(set(order_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(Order)
            .where(Order.id.in_(ids))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _view(batch: Batch) -> dict:
    view = audit.snapshot(batch)
    view.pop("calculation", None)
    view["lot_usages"] = [
        {
            "id": u.id,
            "lot_id": u.lot_id,
            "role": u.role,
            "planned_quantity": u.planned_quantity,
            "actual_quantity": u.actual_quantity,
            "unit": u.unit,
            "chosen_by_fefo": u.chosen_by_fefo,
            "override_reason": u.override_reason,
        }
        for u in batch.lot_usages
    ]
    view["order_ids"] = [o.id for o in batch.orders]
    return audit._plain(view)


def _move(session: Session, actor: User, batch: Batch, target: str, reason: str | None) -> None:
    old = {"status": batch.status}
    batch.status = target
    session.flush()
    audit.record(
        session,
        actor,
        "batch.transition",
        "batch",
        batch.id,
        old,
        {"status": target},
        reason=reason,
    )


def _is_independent(actor: User, batch: Batch) -> bool:
    """The checker must not be the compounder, nor anyone who weighed for the batch."""
    makers = {batch.compounded_by_id} | {u.weighed_by_id for u in batch.lot_usages}
    return actor.id not in makers


def _orders_for(session: Session, order_ids: Sequence[int]) -> list[Order]:
    orders = [session.get(Order, i) for i in order_ids]
    missing = [str(i) for i, o in zip(order_ids, orders, strict=True) if o is None]
    if missing:
        raise ValidationFailed.single("order_ids", f"unknown order(s): {', '.join(missing)}")
    return orders  # type: ignore[return-value]


def _same_formula(session: Session, rx: Prescription, formula_id: int) -> bool:
    """A prescription names a formula by one version; any version of that code will do."""
    if rx.formula_id is None or rx.formula_id == formula_id:
        return True
    wanted, have = session.get(Formula, rx.formula_id), session.get(Formula, formula_id)
    return wanted is not None and have is not None and wanted.code == have.code


deviation_percent = weighing.deviation_percent


def tolerance_of(batch: Batch) -> Decimal:
    """The fill tolerance (capsule weights; non-API lines), never looser than ±10 %."""
    formula = batch.calculation["formula"]
    return weighing.fill_tolerance(Decimal(str(formula["weight_tolerance_percent"])))


def api_tolerance_of(batch: Batch) -> Decimal:
    """The API weighing tolerance the batch was started under (5 % when the formula had none)."""
    value = batch.calculation["formula"].get("api_tolerance_percent")
    return weighing.api_tolerance(None if value is None else Decimal(str(value)))


def line_tolerance(batch: Batch, role: str) -> Decimal:
    return api_tolerance_of(batch) if role in weighing.DOSE_ROLES else tolerance_of(batch)


def unsigned_api_deviations(batch: Batch) -> list:
    """API (dose) weighings outside the API tolerance that no pharmacist has signed off."""
    tolerance = api_tolerance_of(batch)
    return [
        u
        for u in batch.lot_usages
        if u.role in weighing.DOSE_ROLES
        and u.actual_quantity is not None
        and u.signed_off_at is None
        and weighing.api_out_of_tolerance(u.planned_quantity, u.actual_quantity, tolerance)
    ]
