"""Batches (compounding records): start, weigh, quality check, release, dispense, recall, trace.

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
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..database import ExactDecimal, utcnow
from ..domain import calc, lifecycle
from ..domain import lots as lot_rules
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..domain.formula_rules import form_family
from ..models import (
    Balance,
    Batch,
    BatchLotUsage,
    Dispense,
    Formula,
    IngredientLot,
    Order,
    Patient,
    Prescriber,
    Prescription,
    QcResult,
    User,
)
from . import audit, calculator, inventory
from . import orders as order_service

SNAPSHOT_VERSION = 1
DEFAULT_QC_SAMPLE = 10
TRACE_LIMIT = 2000
# Orders a batch may be started for (in compounding: its earlier batch was rejected).
START_ORDER_STATUSES = ("verified", "in_compounding")
# Orders a released batch may fill.
FILLABLE_ORDER_STATUSES = ("verified", "in_compounding", "quality_check")
# Open orders that a recall puts on hold (a dispensed order is final: the patient is contacted).
RECALL_HOLD_STATUSES = ("verified", "in_compounding", "quality_check", "ready")
MASS_UNITS = {"mg": Decimal(1), "g": Decimal(1000)}
_QUANTUM = Decimal("0.0001")


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartInput:
    formula_id: int | None
    balance_id: int | None
    strength_mg: Decimal | None = None
    strength_basis: str | None = None
    quantity: Decimal | int | None = None  # capsules (capsule formulas) or mL (liquids)
    order_ids: tuple[int, ...] = ()
    override_lot_ids: tuple[int, ...] = ()  # replaces FEFO for the lot's ingredient
    override_reason: str = ""
    compounded_on: date | None = None


@dataclass(frozen=True)
class WeightEntry:
    usage_id: int
    actual: Decimal | None
    balance_id: int | None = None
    deviation_reason: str = ""


@dataclass(frozen=True)
class QcInput:
    appearance: str
    appearance_ok: bool
    units_made: int | None
    gross_weights_mg: tuple[Decimal, ...] = ()
    shell_mg: Decimal | None = None
    final_volume_ml: Decimal | None = None
    notes: str = ""


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
    from .prescriptions import next_sequence  # the shared named-counter table

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
    """Stock per lot as inventory derives it: received + adjustments - batch usages."""
    stocks = inventory.lot_stocks(session, sorted(set(lot_ids)))
    return {lot_id: st.on_hand for lot_id, st in stocks.items()}


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


# --- starting a batch -------------------------------------------------------------------------


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


def _check_orders_fit(
    session: Session, formula: Formula, orders: Sequence[Order], unit: str
) -> list[FieldError]:
    errors = []
    for o in orders:
        rx = o.prescription
        if o.status not in START_ORDER_STATUSES:
            errors.append(
                FieldError("order_ids", f"order {o.number} is {_label(o.status)}, not verified")
            )
        if o.quantity_unit != unit:
            errors.append(
                FieldError("order_ids", f"order {o.number} is for {o.quantity_unit}, not {unit}")
            )
        if not _same_formula(session, rx, formula.id):
            errors.append(FieldError("order_ids", f"order {o.number} is for another formula"))
    keys = {(o.prescription.strength_mg, o.prescription.strength_basis) for o in orders}
    if len(keys) > 1:
        errors.append(FieldError("order_ids", "the orders are for different strengths"))
    return errors


def _planned(line, result, kind: str) -> tuple[Decimal, str] | None:
    """What a formula line takes from its lot, in the formula's unit (capsules: for every
    capsule made, overage included)."""
    n = result.capsules_to_make if kind == "capsule" else 1
    if line.role == "active":
        if kind == "capsule" and result.aliquot is not None:
            return result.aliquot.stock_api_mg, "mg"
        return result.api_mg, "mg"
    if line.role == "filler" and kind == "capsule":
        diluent = result.aliquot.diluent_mg if result.aliquot is not None else Decimal(0)
        return result.filler_mg + diluent, "mg"
    if line.role == "capsule_shell":
        return Decimal(n) * (line.amount or 1), line.unit or "each"
    if line.role == "vehicle" and kind == "liquid":
        return result.prepare_volume_ml, "mL"
    if line.amount is not None and line.unit:
        return line.amount * n, line.unit
    return None


def _run_engine(session, formula, kind, strength, basis, quantity, on, api_lot, balance, others):
    return calculator.run(
        session,
        calculator.CalculatorInput(
            kind="capsules" if kind == "capsule" else "liquid",
            compounded_on=on,
            formula_id=formula.id,
            strength_mg=strength,
            strength_basis=basis,
            quantity=Decimal(quantity) if kind == "capsule" else None,
            volume_ml=Decimal(quantity) if kind == "liquid" else None,
            lot_id=api_lot.id,
            balance_id=balance.id,
            component_lot_ids=tuple(lot.id for lot in others),
        ),
    )


def _snapshot(formula, inp_values, balance, usages_info, result, orders) -> dict:
    formula_view = audit.snapshot(formula)
    formula_view["lines"] = [
        {
            "position": ln.position,
            "ingredient_id": ln.ingredient_id,
            "ingredient": ln.ingredient.name,
            "role": ln.role,
            "amount": ln.amount,
            "unit": ln.unit,
        }
        for ln in formula.lines
    ]
    return audit._plain(
        {
            "snapshot_version": SNAPSHOT_VERSION,
            "formula": formula_view,
            "request": inp_values,
            "balance": {
                "id": balance.id,
                "name": balance.name,
                "readability_mg": balance.readability_mg,
                "mwq_mg": balance.mwq_mg,
                "calibration_due": balance.calibration_due,
            },
            "lots": usages_info,
            "orders": [{"id": o.id, "number": o.number} for o in orders],
            "result": result.to_dict(),
        }
    )


def start_batch(session: Session, actor: User, inp: StartInput) -> Batch:
    """Run the engine on FEFO (or overridden) lots and save the batch with a frozen snapshot."""
    on = inp.compounded_on or date.today()
    formula = session.get(Formula, inp.formula_id) if inp.formula_id else None
    if formula is None:
        raise ValidationFailed.single("formula_id", "choose an approved formula")
    if formula.status != "approved":
        raise ValidationFailed.single(
            "formula_id",
            f"{formula.code} v{formula.version} is {formula.status}; only an approved "
            "master formulation record can be compounded",
        )
    kind = form_family(formula.dosage_form)
    unit = "capsule" if kind == "capsule" else "mL"
    orders = _orders_for(session, tuple(dict.fromkeys(inp.order_ids)))
    errors = _check_orders_fit(session, formula, orders, unit)
    if errors:
        raise ValidationFailed(errors)

    strength, basis = inp.strength_mg, inp.strength_basis
    if orders:
        rx = orders[0].prescription
        if strength is None:
            strength, basis = rx.strength_mg, rx.strength_basis
        elif (strength, basis or "hcl") != (rx.strength_mg, rx.strength_basis):
            raise ValidationFailed.single(
                "strength_mg",
                f"the orders are for {_num(rx.strength_mg)} mg ({rx.strength_basis}); "
                f"not {_num(strength)} mg",
            )
    basis = basis or "hcl"
    ordered_total = sum((o.quantity for o in orders), Decimal(0))
    quantity = inp.quantity if inp.quantity not in (None, "") else (ordered_total or None)
    if strength is None:
        raise ValidationFailed.single("strength_mg", "is required")
    if quantity is None:
        raise ValidationFailed.single("quantity", "is required")
    if not (formula.strength_min_mg <= strength <= formula.strength_max_mg):
        raise ValidationFailed.single(
            "strength_mg",
            f"{formula.code} covers {_num(formula.strength_min_mg)}–"
            f"{_num(formula.strength_max_mg)} mg",
        )
    quantity = _whole(quantity, "quantity")
    if quantity < ordered_total:
        raise ValidationFailed.single(
            "quantity", f"the orders need {_num(ordered_total)} {unit}; make at least that many"
        )
    balance = session.get(Balance, inp.balance_id) if inp.balance_id else None
    if balance is None or not balance.active:
        raise ValidationFailed.single("balance_id", "choose the balance you will weigh on")
    if balance.calibration_due < on:
        raise ValidationFailed.single(
            "balance_id",
            f"{balance.name} was due for calibration on {balance.calibration_due.isoformat()}",
        )
    reason = (inp.override_reason or "").strip()
    if inp.override_lot_ids and not reason:
        raise ValidationFailed.single(
            "override_reason", "choosing a lot other than first-expiry-first-out needs a reason"
        )

    # Locks, in the fixed order: the counter, then the lots.
    number = next_batch_number(session, formula.code, on)
    ingredient_ids = {ln.ingredient_id for ln in formula.lines}
    locked = _lock_lots(session, ingredient_ids, inp.override_lot_ids)
    # Stock is derived from every past use, so it is added up only for lots that could be
    # used today (and any lot chosen by hand); the others are refused on status or expiry.
    stock = on_hand(
        session,
        (
            lot.id
            for lot in locked
            if (lot.status == "released" and lot.expires_on >= on) or lot.id in inp.override_lot_ids
        ),
    )
    by_id = {lot.id: lot for lot in locked}
    overrides: dict[int, IngredientLot] = {}
    for lot_id in inp.override_lot_ids:
        lot = by_id.get(lot_id)
        if lot is None or lot.ingredient_id not in ingredient_ids:
            raise ValidationFailed.single(
                "override_lot_ids", f"lot {lot_id} is not a lot of an ingredient in this formula"
            )
        if lot.ingredient_id in overrides:
            raise ValidationFailed.single(
                "override_lot_ids", f"choose one lot for {lot.ingredient.name}"
            )
        overrides[lot.ingredient_id] = lot

    lines = list(formula.lines)
    active = next((ln for ln in lines if ln.role == "active"), None)
    if active is None:
        raise ValidationFailed.single("formula_id", f"{formula.code} has no active ingredient")

    def candidates(ingredient_id: int) -> list[IngredientLot]:
        if ingredient_id in overrides:
            return [overrides[ingredient_id]]
        # First expiry first out among usable lots, as inventory defines them (the rows are
        # locked above, so the stock it reads cannot change before this transaction ends).
        return [st.lot for st in inventory.usable_lots(session, ingredient_id, on)]

    def why_none(ingredient_id: int, name: str) -> str:
        own = [lot for lot in locked if lot.ingredient_id == ingredient_id]
        why = [m for lot in own for m in lot_refusals(lot, stock, on, None)]
        return f"no usable lot of {name}" + (": " + "; ".join(why) if why else " in stock")

    def first_others() -> list[IngredientLot]:
        picked = []
        for ln in lines:
            if ln.role != "active":
                found = candidates(ln.ingredient_id)
                if found:
                    picked.append(found[0])
        return picked

    # The API lot: the first FEFO lot whose stock covers what the engine says to weigh from it.
    api_lot = result = None
    refusals: list[str] = []
    for lot in candidates(active.ingredient_id):
        why = lot_refusals(lot, stock, on, None)
        if why:  # an overridden lot may be unusable; say why before running anything
            refusals += why
            continue
        trial = _run_engine(
            session, formula, kind, strength, basis, quantity, on, lot, balance, first_others()
        )
        needed, need_unit = _planned(active, trial, kind)
        needed = to_lot_unit(needed, need_unit, lot.unit, "override_lot_ids")
        why = lot_refusals(lot, stock, on, needed)
        if not why:
            api_lot, result = lot, trial
            break
        refusals += why
    if api_lot is None:
        msg = "; ".join(refusals) or why_none(active.ingredient_id, active.ingredient.name)
        raise ValidationFailed.single("override_lot_ids", msg)

    chosen: dict[int, IngredientLot] = {active.ingredient_id: api_lot}
    plans: dict[int, tuple[Decimal, str]] = {}
    for ln in lines:
        plan = _planned(ln, result, kind)
        if plan is None:
            continue
        if ln.role == "active":
            plans[ln.id] = (to_lot_unit(*plan, api_lot.unit, "override_lot_ids"), api_lot.unit)
            continue
        picked, why_not = None, []
        for lot in candidates(ln.ingredient_id):
            needed = to_lot_unit(*plan, lot.unit, "override_lot_ids")
            why = lot_refusals(lot, stock, on, needed)
            if not why:
                picked = lot
                plans[ln.id] = (needed, lot.unit)
                break
            why_not += why
        if picked is None:
            raise ValidationFailed.single(
                "override_lot_ids",
                f"{ln.ingredient.name}: " + "; ".join(why_not)
                if why_not
                else why_none(ln.ingredient_id, ln.ingredient.name),
            )
        chosen[ln.ingredient_id] = picked

    # The record's own run: the BUD is capped by the lots actually used.
    others = [lot for ing, lot in chosen.items() if ing != active.ingredient_id]
    result = _run_engine(
        session, formula, kind, strength, basis, quantity, on, api_lot, balance, others
    )

    batch = Batch(
        batch_number=number,
        formula_id=formula.id,
        strength_mg=strength,
        strength_basis=basis,
        units_planned=quantity,
        units_remaining=0,
        unit=unit,
        status=lifecycle.BATCH.initial,
        compounded_on=on,
        beyond_use_date=result.bud,
        bud_limited_by=result.bud_limited_by[:200],
        balance_id=balance.id,
        compounded_by_id=actor.id,
        calculation={},
    )
    usages_info = []
    for ln in lines:
        if ln.id not in plans:
            continue
        lot = chosen[ln.ingredient_id]
        planned, lot_unit = plans[ln.id]
        by_fefo = ln.ingredient_id not in overrides
        batch.lot_usages.append(
            BatchLotUsage(
                lot_id=lot.id,
                role=ln.role,
                planned_quantity=planned,
                unit=lot_unit,
                chosen_by_fefo=by_fefo,
                override_reason=None if by_fefo else reason,
            )
        )
        usages_info.append(
            {
                "role": ln.role,
                "ingredient_id": ln.ingredient_id,
                "ingredient": ln.ingredient.name,
                "lot_id": lot.id,
                "lot_number": lot.lot_number,
                "expires_on": lot.expires_on,
                "status": lot.status,
                "assay_percent": lot.assay_percent,
                "assay_basis": lot.assay_basis,
                "water_percent": lot.water_percent,
                "on_hand_before": stock.get(lot.id),
                "planned_quantity": planned,
                "unit": lot_unit,
                "chosen_by_fefo": by_fefo,
                "override_reason": None if by_fefo else reason,
            }
        )
    request_values = {
        "kind": kind,
        "strength_mg": strength,
        "strength_basis": basis,
        "quantity": quantity,
        "unit": unit,
        "compounded_on": on,
        "override_lot_ids": list(inp.override_lot_ids),
        "override_reason": reason or None,
    }
    batch.calculation = _snapshot(formula, request_values, balance, usages_info, result, orders)
    session.add(batch)
    session.flush()

    # Orders last (fixed lock order); re-checked under the lock.
    locked_orders = _lock_orders(session, (o.id for o in orders))
    errors = _check_orders_fit(session, formula, locked_orders, unit)
    if errors:
        raise ValidationFailed(errors)
    batch.orders = locked_orders
    session.flush()
    audit.record(session, actor, "batch.start", "batch", batch.id, None, _view(batch))
    for o in locked_orders:
        if o.status == "verified":
            order_service.transition(
                session, actor, o, "in_compounding", reason=f"batch {number} started"
            )
    return batch


# --- weights ----------------------------------------------------------------------------------


def deviation_percent(planned: Decimal, actual: Decimal) -> Decimal:
    return (abs(actual - planned) / planned * 100).quantize(Decimal("0.01"))


def tolerance_of(batch: Batch) -> Decimal:
    return Decimal(str(batch.calculation["formula"]["weight_tolerance_percent"]))


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


# --- quality check ----------------------------------------------------------------------------


def sample_size(batch: Batch) -> int:
    return int(batch.calculation["formula"].get("qc_sample_size") or DEFAULT_QC_SAMPLE)


def record_qc(session: Session, actor: User, batch: Batch, qc: QcInput) -> QcResult:
    batch = _lock_batch(session, batch.id)
    if batch.status != "in_progress":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: its quality check is done."
        )
    if any(u.actual_quantity is None for u in batch.lot_usages):
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number}: record the actual quantity of every ingredient "
            "before the quality check."
        )
    calc_result = batch.calculation["result"]
    kind = batch.calculation["request"]["kind"]
    tolerance = tolerance_of(batch)
    errors: list[FieldError] = []
    appearance = (qc.appearance or "").strip()
    if not appearance:
        errors.append(FieldError("appearance", "describe the appearance"))
    if qc.units_made is None or qc.units_made < 0:
        errors.append(FieldError("units_made", "enter how many units were made"))
    data: dict = {"appearance": appearance, "appearance_ok": bool(qc.appearance_ok)}
    passed_check = False
    if kind == "capsule":
        size = sample_size(batch)
        if len(qc.gross_weights_mg) != size:
            errors.append(
                FieldError(
                    "weights",
                    f"weigh exactly {size} capsules (the formula's sample); "
                    f"{len(qc.gross_weights_mg)} entered",
                )
            )
        if qc.shell_mg is None:
            errors.append(FieldError("shell_mg", "enter the empty shell weight"))
        made_max = int(calc_result["capsules_to_make"])
        if qc.units_made is not None and qc.units_made > made_max:
            errors.append(
                FieldError("units_made", f"at most {made_max} capsules were planned with overage")
            )
        if errors:
            raise ValidationFailed(errors)
        check = calc.check_weights(
            calc.WeightCheckRequest(
                fill_target_mg=Decimal(calc_result["fill_target_mg"]),
                shell_mg=qc.shell_mg,
                gross_weights_mg=tuple(qc.gross_weights_mg),
                tolerance_percent=tolerance,
            )
        )
        passed_check = check.passed
        data["weight_check"] = check.to_dict()
        data["shell_mg"] = qc.shell_mg
    else:
        prepared = Decimal(calc_result["prepare_volume_ml"])
        if qc.final_volume_ml is None or qc.final_volume_ml <= 0:
            errors.append(FieldError("final_volume_ml", "enter the final volume"))
        if qc.units_made is not None and qc.units_made > prepared:
            errors.append(FieldError("units_made", f"only {_num(prepared)} mL were prepared"))
        if errors:
            raise ValidationFailed(errors)
        deviation = deviation_percent(prepared, qc.final_volume_ml)
        passed_check = deviation <= tolerance
        data["volume_check"] = {
            "prepared_ml": prepared,
            "final_volume_ml": qc.final_volume_ml,
            "deviation_percent": deviation,
            "tolerance_percent": tolerance,
            "passed": passed_check,
        }
    data["units_made"] = qc.units_made
    data["units_planned"] = batch.units_planned
    data["yield_percent"] = (Decimal(qc.units_made) / batch.units_planned * 100).quantize(
        Decimal("0.1")
    )
    failures = []
    if not passed_check:
        failures.append("capsule weights" if kind == "capsule" else "final volume")
    if not qc.appearance_ok:
        failures.append("appearance")
    if qc.units_made == 0:
        failures.append("nothing was made")
    passed = not failures
    result = QcResult(
        batch_id=batch.id,
        kind="capsule_weights" if kind == "capsule" else "liquid_volume",
        data=audit._plain(data),
        passed=passed,
        notes=(qc.notes or "").strip(),
        recorded_by_id=actor.id,
    )
    session.add(result)
    old_made = batch.units_made
    batch.units_made = qc.units_made
    session.flush()
    audit.record(
        session,
        actor,
        "batch.qc",
        "batch",
        batch.id,
        {"units_made": old_made},
        {"units_made": qc.units_made, "passed": passed, "qc_result_id": result.id},
    )
    if passed:
        lifecycle.check_transition("batch", batch.status, "awaiting_check", roles=actor.roles)
        batch.submitted_at = utcnow()
        _move(session, actor, batch, "awaiting_check", None)
        for o in _lock_orders(session, (o.id for o in batch.orders)):
            if o.status == "in_compounding":
                order_service.transition(
                    session,
                    actor,
                    o,
                    "quality_check",
                    reason=f"batch {batch.batch_number} awaits the pharmacist's check",
                )
    else:
        why = f"failed quality check: {', '.join(failures)}"
        lifecycle.check_transition("batch", batch.status, "rejected", roles=actor.roles, reason=why)
        batch.decision_reason = why
        _move(session, actor, batch, "rejected", why)
    return result


# --- release / reject / recall ----------------------------------------------------------------


def release(session: Session, actor: User, batch: Batch, note: str = "") -> Batch:
    batch = _lock_batch(session, batch.id)
    lifecycle.check_transition("batch", batch.status, "released", roles=actor.roles)
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


# --- dispensing -------------------------------------------------------------------------------


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


# --- listing and tracing ----------------------------------------------------------------------


def list_batches(session: Session, status: str | None = None, limit: int = 200) -> list[Batch]:
    stmt = select(Batch).order_by(Batch.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Batch.status == status)
    return list(session.scalars(stmt))


@dataclass
class Trace:
    lot: IngredientLot | None
    batch: Batch | None
    batches: list[dict] = field(default_factory=list)
    lots: list[dict] = field(default_factory=list)
    recipients: list[dict] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict:
        return audit._plain(
            {
                "lot": None
                if self.lot is None
                else {
                    "id": self.lot.id,
                    "lot_number": self.lot.lot_number,
                    "ingredient": self.lot.ingredient.name,
                    "status": self.lot.status,
                    "expires_on": self.lot.expires_on,
                },
                "batch": None
                if self.batch is None
                else {"id": self.batch.id, "batch_number": self.batch.batch_number},
                "batches": self.batches,
                "lots": self.lots,
                "recipients": self.recipients,
                "truncated": self.truncated,
            }
        )


CSV_COLUMNS = (
    "batch_number",
    "batch_status",
    "dispensed_at",
    "quantity",
    "unit",
    "order",
    "order_status",
    "patient",
    "patient_dob",
    "patient_phone",
    "patient_address",
    "prescriber",
    "prescriber_npi",
    "prescriber_phone",
)


def _recipients(session: Session, batch_filter, limit: int) -> tuple[list[dict], bool]:
    """One bounded query: dispenses of the batches -> orders -> patients and prescribers."""
    stmt = (
        select(
            Batch.id,
            Batch.batch_number,
            Batch.status,
            Dispense.dispensed_at,
            Dispense.quantity,
            Dispense.unit,
            Order.id,
            Order.fill_number,
            Order.status,
            Prescription.rx_number,
            Patient.id,
            Patient.first_name,
            Patient.last_name,
            Patient.date_of_birth,
            Patient.phone,
            Patient.address,
            Prescriber.first_name,
            Prescriber.last_name,
            Prescriber.credentials,
            Prescriber.npi,
            Prescriber.phone,
        )
        .select_from(Dispense)
        .join(Batch, Batch.id == Dispense.batch_id)
        .join(Order, Order.id == Dispense.order_id)
        .join(Prescription, Prescription.id == Order.prescription_id)
        .join(Patient, Patient.id == Prescription.patient_id)
        .join(Prescriber, Prescriber.id == Prescription.prescriber_id)
        .where(batch_filter)
        .order_by(Batch.id, Dispense.id)
        .limit(limit + 1)
    )
    rows = session.execute(stmt).all()
    out = [
        {
            "batch_id": r[0],
            "batch_number": r[1],
            "batch_status": r[2],
            "dispensed_at": r[3],
            "quantity": r[4],
            "unit": r[5],
            "order_id": r[6],
            "order": f"{r[9]}-{r[7]:02d}",
            "order_status": r[8],
            "patient_id": r[10],
            "patient": f"{r[11]} {r[12]}",
            "patient_dob": r[13],
            "patient_phone": r[14],
            "patient_address": r[15],
            "prescriber": f"{r[16]} {r[17]}, {r[18]}".rstrip(", "),
            "prescriber_npi": r[19],
            "prescriber_phone": r[20],
        }
        for r in rows[:limit]
    ]
    return out, len(rows) > limit


def _batch_rows(batches: Iterable[Batch]) -> list[dict]:
    return [
        {
            "id": b.id,
            "batch_number": b.batch_number,
            "status": b.status,
            "compounded_on": b.compounded_on,
            "beyond_use_date": b.beyond_use_date,
            "units_made": b.units_made,
            "units_remaining": b.units_remaining,
            "unit": b.unit,
        }
        for b in batches
    ]


def trace_lot(session: Session, lot_id: int, limit: int = TRACE_LIMIT) -> Trace:
    lot = session.get(IngredientLot, lot_id)
    if lot is None:
        raise ValidationFailed.single("lot_id", "is not a known lot")
    used = select(BatchLotUsage.batch_id).where(BatchLotUsage.lot_id == lot_id)
    batches = session.scalars(
        select(Batch).where(Batch.id.in_(used)).order_by(Batch.id).limit(limit)
    ).all()
    recipients, truncated = _recipients(session, Batch.id.in_(used), limit)
    return Trace(lot, None, _batch_rows(batches), [], recipients, truncated)


def trace_batch(session: Session, batch: Batch, limit: int = TRACE_LIMIT) -> Trace:
    recipients, truncated = _recipients(session, Batch.id == batch.id, limit)
    lots = [
        {
            "lot_id": u.lot_id,
            "lot_number": u.lot.lot_number,
            "ingredient": u.lot.ingredient.name,
            "role": u.role,
            "status": u.lot.status,
            "expires_on": u.lot.expires_on,
            "quantity": u.actual_quantity if u.actual_quantity is not None else u.planned_quantity,
            "unit": u.unit,
        }
        for u in batch.lot_usages
    ]
    return Trace(None, batch, _batch_rows([batch]), lots, recipients, truncated)
