"""Starting a batch: check the orders, pick lots (FEFO or overridden), run the engine, save
the record with a frozen snapshot of everything it was computed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from ...domain import lifecycle
from ...domain.errors import FieldError, ValidationFailed
from ...domain.formula_rules import form_family
from ...models import Balance, Batch, BatchLotUsage, Formula, IngredientLot, Order, User
from .. import audit, calculator, inventory, training
from .. import orders as order_service
from .checks import check_excipient_allergies
from .common import (
    SNAPSHOT_VERSION,
    START_ORDER_STATUSES,
    _label,
    _lock_lots,
    _lock_orders,
    _num,
    _orders_for,
    _same_formula,
    _view,
    _whole,
    lot_refusals,
    next_batch_number,
    on_hand,
    to_lot_unit,
)
from .potency import accept_potency_if_needed


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
    # A pharmacist's documented acceptance of an API lot assaying outside 98.0-102.0 %.
    potency_acceptance: str = ""
    # A pharmacist's reason to go ahead despite an excipient allergy finding.
    allergy_override: str = ""


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
    concentration = formula.concentration_mg_per_ml
    if unit == "mL" and concentration is not None:
        # A liquid's strength is its concentration: the formula makes only that one.
        errors += [
            FieldError(
                "order_ids",
                f"order {o.number} is for {_num(o.prescription.strength_mg)} mg/mL; "
                f"{formula.code} makes {_num(concentration)} mg/mL",
            )
            for o in orders
            if o.prescription.strength_mg != concentration
        ]
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


@dataclass
class _Request:
    """The checked request: what to make, for which orders, on which balance."""

    formula: Formula
    kind: str
    unit: str
    orders: list[Order]
    strength: Decimal
    basis: str
    quantity: int
    balance: Balance
    on: date
    reason: str


@dataclass
class _LotPool:
    """The formula's lots, locked, with the stock of those that could be used that day."""

    session: Session
    on: date
    locked: list[IngredientLot]
    stock: dict[int, Decimal]
    overrides: dict[int, IngredientLot]

    def candidates(self, ingredient_id: int) -> list[IngredientLot]:
        if ingredient_id in self.overrides:
            return [self.overrides[ingredient_id]]
        # First expiry first out among usable lots, as inventory defines them (the rows are
        # locked, so the stock it reads cannot change before this transaction ends).
        return [st.lot for st in inventory.usable_lots(self.session, ingredient_id, self.on)]

    def refusals(self, lot: IngredientLot, needed: Decimal | None) -> list[str]:
        return lot_refusals(lot, self.stock, self.on, needed)

    def why_none(self, ingredient_id: int, name: str) -> str:
        own = [lot for lot in self.locked if lot.ingredient_id == ingredient_id]
        why = [m for lot in own for m in self.refusals(lot, None)]
        return f"no usable lot of {name}" + (": " + "; ".join(why) if why else " in stock")


def _approved_formula(session: Session, formula_id: int | None) -> Formula:
    formula = session.get(Formula, formula_id) if formula_id else None
    if formula is None:
        raise ValidationFailed.single("formula_id", "choose an approved formula")
    if formula.status != "approved":
        raise ValidationFailed.single(
            "formula_id",
            f"{formula.code} v{formula.version} is {formula.status}; only an approved "
            "master formulation record can be compounded",
        )
    return formula


def _strength_for(
    inp: StartInput, orders: Sequence[Order], formula: Formula, kind: str
) -> tuple[Decimal | None, str]:
    """The strength asked for, or the orders' own; it must match the orders'. A liquid's
    strength is the formula's concentration (mg/mL), whatever was typed."""
    strength, basis = inp.strength_mg, inp.strength_basis
    if kind == "liquid" and formula.concentration_mg_per_ml is not None:
        concentration = formula.concentration_mg_per_ml
        if strength is not None and strength != concentration:
            raise ValidationFailed.single(
                "strength_mg",
                f"{formula.code} makes {_num(concentration)} mg/mL, not {_num(strength)} mg/mL",
            )
        strength = concentration
        if orders and basis is None:
            basis = orders[0].prescription.strength_basis
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
    return strength, basis or "hcl"


def _balance_for(session: Session, balance_id: int | None, on: date) -> Balance:
    balance = session.get(Balance, balance_id) if balance_id else None
    if balance is None or not balance.active:
        raise ValidationFailed.single("balance_id", "choose the balance you will weigh on")
    if balance.calibration_due < on:
        raise ValidationFailed.single(
            "balance_id",
            f"{balance.name} was due for calibration on {balance.calibration_due.isoformat()}",
        )
    return balance


def _check_request(session: Session, inp: StartInput) -> _Request:
    on = inp.compounded_on or date.today()
    formula = _approved_formula(session, inp.formula_id)
    kind = form_family(formula.dosage_form)
    unit = "capsule" if kind == "capsule" else "mL"
    orders = _orders_for(session, tuple(dict.fromkeys(inp.order_ids)))
    errors = _check_orders_fit(session, formula, orders, unit)
    if errors:
        raise ValidationFailed(errors)
    strength, basis = _strength_for(inp, orders, formula, kind)
    ordered_total = sum((o.quantity for o in orders), Decimal(0))
    quantity = inp.quantity if inp.quantity not in (None, "") else (ordered_total or None)
    if strength is None:
        raise ValidationFailed.single("strength_mg", "is required")
    if quantity is None:
        raise ValidationFailed.single("quantity", "is required")
    if kind == "capsule" and not (formula.strength_min_mg <= strength <= formula.strength_max_mg):
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
    balance = _balance_for(session, inp.balance_id, on)
    reason = (inp.override_reason or "").strip()
    if inp.override_lot_ids and not reason:
        raise ValidationFailed.single(
            "override_reason", "choosing a lot other than first-expiry-first-out needs a reason"
        )
    return _Request(formula, kind, unit, orders, strength, basis, quantity, balance, on, reason)


def _lock_pool(session: Session, req: _Request, override_ids: tuple[int, ...]) -> _LotPool:
    on = req.on
    ingredient_ids = {ln.ingredient_id for ln in req.formula.lines}
    locked = _lock_lots(session, ingredient_ids, override_ids)
    # Stock is derived from every past use, so it is added up only for lots that could be
    # used today (and any lot chosen by hand); the others are refused on status or expiry.
    stock = on_hand(
        session,
        (
            lot.id
            for lot in locked
            if (lot.status == "released" and lot.expires_on >= on) or lot.id in override_ids
        ),
    )
    by_id = {lot.id: lot for lot in locked}
    overrides: dict[int, IngredientLot] = {}
    for lot_id in override_ids:
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
    return _LotPool(session, on, locked, stock, overrides)


def _engine(session: Session, req: _Request, api_lot: IngredientLot, others):
    return _run_engine(
        session,
        req.formula,
        req.kind,
        req.strength,
        req.basis,
        req.quantity,
        req.on,
        api_lot,
        req.balance,
        others,
    )


def _pick_api_lot(session: Session, req: _Request, pool: _LotPool, active):
    """The first FEFO lot whose stock covers what the engine says to weigh from it."""
    first_others = [
        found[0]
        for ln in req.formula.lines
        if ln.role != "active" and (found := pool.candidates(ln.ingredient_id))
    ]
    refusals: list[str] = []
    for lot in pool.candidates(active.ingredient_id):
        why = pool.refusals(lot, None)
        if why:  # an overridden lot may be unusable; say why before running anything
            refusals += why
            continue
        trial = _engine(session, req, lot, first_others)
        needed, need_unit = _planned(active, trial, req.kind)
        why = pool.refusals(lot, to_lot_unit(needed, need_unit, lot.unit, "override_lot_ids"))
        if not why:
            return lot, trial
        refusals += why
    msg = "; ".join(refusals) or pool.why_none(active.ingredient_id, active.ingredient.name)
    raise ValidationFailed.single("override_lot_ids", msg)


def _pick_other_lots(req: _Request, pool: _LotPool, active, api_lot, result):
    """A lot for every other line that covers its planned quantity, and the plans per line."""
    chosen: dict[int, IngredientLot] = {active.ingredient_id: api_lot}
    plans: dict[int, tuple[Decimal, str]] = {}
    for ln in req.formula.lines:
        plan = _planned(ln, result, req.kind)
        if plan is None:
            continue
        if ln.role == "active":
            plans[ln.id] = (to_lot_unit(*plan, api_lot.unit, "override_lot_ids"), api_lot.unit)
            continue
        picked, why_not = None, []
        for lot in pool.candidates(ln.ingredient_id):
            needed = to_lot_unit(*plan, lot.unit, "override_lot_ids")
            why = pool.refusals(lot, needed)
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
                else pool.why_none(ln.ingredient_id, ln.ingredient.name),
            )
        chosen[ln.ingredient_id] = picked
    return chosen, plans


def _split_lines(req: _Request, chosen, plans, result) -> list[tuple]:
    """(formula line, role, lot, planned, unit) for every weighing, in bench order. A capsule
    aliquot is weighed as its own lines: stock API, diluent, then the aliquot taken (which
    comes out of the stock mixture, so it takes nothing more from the lot)."""
    aliquot = getattr(result, "aliquot", None) if req.kind == "capsule" else None
    rows = []
    for ln in req.formula.lines:
        if ln.id not in plans:
            continue
        lot = chosen[ln.ingredient_id]
        planned, unit = plans[ln.id]
        if aliquot is not None and ln.role == "filler":
            diluent = to_lot_unit(aliquot.diluent_mg, "mg", lot.unit, "override_lot_ids")
            rows.append((ln, "diluent", lot, diluent, unit))
            planned = to_lot_unit(result.filler_mg, "mg", lot.unit, "override_lot_ids")
        rows.append((ln, ln.role, lot, planned, unit))
        if aliquot is not None and ln.role == "active":
            taken = to_lot_unit(aliquot.aliquot_mg, "mg", lot.unit, "override_lot_ids")
            rows.append((ln, "aliquot", lot, taken, unit))
    order = {"active": 0, "diluent": 1, "aliquot": 2}
    return sorted(rows, key=lambda r: order.get(r[1], 3))


def _add_usages(batch: Batch, req: _Request, pool: _LotPool, rows) -> list[dict]:
    """The batch's lot lines, and the same facts for the frozen snapshot."""
    usages_info = []
    for ln, role, lot, planned, lot_unit in rows:
        by_fefo = ln.ingredient_id not in pool.overrides
        override_reason = None if by_fefo else req.reason
        batch.lot_usages.append(
            BatchLotUsage(
                lot_id=lot.id,
                role=role,
                planned_quantity=planned,
                unit=lot_unit,
                chosen_by_fefo=by_fefo,
                override_reason=override_reason,
            )
        )
        usages_info.append(
            {
                "role": role,
                "ingredient_id": ln.ingredient_id,
                "ingredient": ln.ingredient.name,
                "lot_id": lot.id,
                "lot_number": lot.lot_number,
                "expires_on": lot.expires_on,
                "status": lot.status,
                "assay_percent": lot.assay_percent,
                "assay_basis": lot.assay_basis,
                "water_percent": lot.water_percent,
                "potency_accepted": lot.potency_acceptance,
                "on_hand_before": pool.stock.get(lot.id),
                "planned_quantity": planned,
                "unit": lot_unit,
                "chosen_by_fefo": by_fefo,
                "override_reason": override_reason,
            }
        )
    return usages_info


def _new_batch(number: str, req: _Request, result, actor: User) -> Batch:
    return Batch(
        batch_number=number,
        formula_id=req.formula.id,
        strength_mg=req.strength,
        strength_basis=req.basis,
        units_planned=req.quantity,
        units_remaining=0,
        unit=req.unit,
        status=lifecycle.BATCH.initial,
        compounded_on=req.on,
        beyond_use_date=result.bud,
        bud_limited_by=result.bud_limited_by[:200],
        balance_id=req.balance.id,
        compounded_by_id=actor.id,
        calculation={},
    )


def _attach_orders(session: Session, actor: User, batch: Batch, req: _Request) -> None:
    """Orders last (fixed lock order); re-checked under the lock."""
    locked_orders = _lock_orders(session, (o.id for o in req.orders))
    errors = _check_orders_fit(session, req.formula, locked_orders, req.unit)
    if errors:
        raise ValidationFailed(errors)
    batch.orders = locked_orders
    session.flush()
    audit.record(session, actor, "batch.start", "batch", batch.id, None, _view(batch))
    for o in locked_orders:
        if o.status == "verified":
            order_service.transition(
                session, actor, o, "in_compounding", reason=f"batch {batch.batch_number} started"
            )


def start_batch(session: Session, actor: User, inp: StartInput) -> Batch:
    """Run the engine on FEFO (or overridden) lots and save the batch with a frozen snapshot."""
    training.require_current(session, actor, "compounding")
    req = _check_request(session, inp)
    # Locks, in the fixed order: the counter, then the lots.
    number = next_batch_number(session, req.formula.code, req.on)
    pool = _lock_pool(session, req, inp.override_lot_ids)
    active = next((ln for ln in req.formula.lines if ln.role == "active"), None)
    if active is None:
        raise ValidationFailed.single("formula_id", f"{req.formula.code} has no active ingredient")
    api_lot, result = _pick_api_lot(session, req, pool, active)
    chosen, plans = _pick_other_lots(req, pool, active, api_lot, result)
    # The record's own run: the BUD is capped by the lots actually used.
    others = [lot for ing, lot in chosen.items() if ing != active.ingredient_id]
    result = _engine(session, req, api_lot, others)

    allergies, allergy_reason = check_excipient_allergies(
        actor, req.formula, req.orders, inp.allergy_override
    )
    accept_potency_if_needed(session, actor, api_lot, inp.potency_acceptance)
    batch = _new_batch(number, req, result, actor)
    usages_info = _add_usages(batch, req, pool, _split_lines(req, chosen, plans, result))
    request_values = {
        "kind": req.kind,
        "strength_mg": req.strength,
        "strength_basis": req.basis,
        "quantity": req.quantity,
        "unit": req.unit,
        "compounded_on": req.on,
        "override_lot_ids": list(inp.override_lot_ids),
        "override_reason": req.reason or None,
        "allergy_findings": allergies,
        "allergy_override": allergy_reason,
    }
    batch.calculation = _snapshot(
        req.formula, request_values, req.balance, usages_info, result, req.orders
    )
    session.add(batch)
    session.flush()
    _attach_orders(session, actor, batch, req)
    return batch
