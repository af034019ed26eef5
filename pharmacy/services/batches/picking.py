"""Batch start, step 2: lots for every line (first-expiry-first-out, or chosen by hand with
a reason), the API lot being the first whose stock covers what the engine says to weigh."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.lots import USABLE_STATUS
from ...models import IngredientLot
from .. import calculator, inventory
from .common import (
    _lock_lots,
    lot_refusals,
    on_hand,
    to_lot_unit,
)
from .request import _Request


@dataclass
class _LotPool:
    """The formula's lots with the stock of those that could be used that day: every lot of
    its ingredients, locked (`_lock_pool`), or only those released and in date, read without
    a lock to plan before locking what the plan uses (`_unlocked_pool`)."""

    session: Session
    on: date
    lots: list[IngredientLot]
    stock: dict[int, Decimal]
    overrides: dict[int, IngredientLot]
    _fefo: dict[int, list[IngredientLot]] = field(default_factory=dict)  # by ingredient

    def candidates(self, ingredient_id: int) -> list[IngredientLot]:
        if ingredient_id in self.overrides:
            return [self.overrides[ingredient_id]]
        if ingredient_id not in self._fefo:
            self._fefo[ingredient_id] = self._order(ingredient_id)
        return self._fefo[ingredient_id]

    def _order(self, ingredient_id: int) -> list[IngredientLot]:
        # First expiry first out among usable lots, as inventory defines them, over the
        # pool's own rows (when locked, their stock cannot change before this transaction
        # ends), not a fresh read.
        return inventory.fefo_running(self.lots, self.on, ingredient_id=ingredient_id)

    def refusals(self, lot: IngredientLot, needed: Decimal | None) -> list[str]:
        return lot_refusals(lot, self.stock, self.on, needed)

    def why_none(self, ingredient_id: int, name: str) -> str:
        own = [lot for lot in self.lots if lot.ingredient_id == ingredient_id]
        why = [m for lot in own for m in self.refusals(lot, None)]
        return f"no usable lot of {name}" + (": " + "; ".join(why) if why else " in stock")


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


# Lots per ingredient the unlocked plan looks at: FEFO's first lots with stock; a plan that
# needs more (every one of them is short) is made under the locks over all of them.
PLAN_LOTS = 4


def _unlocked_pool(session: Session, req: _Request) -> _LotPool:
    """The first lots FEFO may choose from (released, in date, with stock), read without
    locking: the plan is made on them, then only the lots it uses are locked and checked
    (`_confirm`). Any refusal is decided again under the locks, over every lot."""
    ingredient_ids = sorted({ln.ingredient_id for ln in req.formula.lines})
    rank = (
        func.row_number()
        .over(
            partition_by=IngredientLot.ingredient_id,
            order_by=(IngredientLot.expires_on, IngredientLot.received_on, IngredientLot.id),
        )
        .label("rank")
    )
    first = (
        select(IngredientLot.id, rank)
        .where(
            IngredientLot.ingredient_id.in_(ingredient_ids),
            IngredientLot.status == USABLE_STATUS,
            IngredientLot.expires_on >= req.on,
            IngredientLot.on_hand > 0,
        )
        .subquery()
    )
    lots = list(
        session.scalars(
            select(IngredientLot)
            .join(first, first.c.id == IngredientLot.id)
            .where(first.c.rank <= PLAN_LOTS)
        )
    )
    return _LotPool(session, req.on, lots, {lot.id: lot.on_hand for lot in lots}, {})


@dataclass
class _Plan:
    """The lots chosen for every line, what each line takes, and the engine's run on them."""

    pool: _LotPool
    api_lot: IngredientLot
    chosen: dict[int, IngredientLot]
    plans: dict[int, tuple[Decimal, str]]
    result: object


def _plan(session: Session, req: _Request, pool: _LotPool, active) -> _Plan:
    api_lot, trial, first_others = _pick_api_lot(session, req, pool, active)
    chosen, plans = _pick_other_lots(req, pool, active, api_lot, trial)
    # The record's own run: the BUD is capped by the lots actually used (the trial's run
    # already was, when the other lines got the lots it assumed).
    others = [lot for ing, lot in chosen.items() if ing != active.ingredient_id]
    same = [lot.id for lot in others] == [lot.id for lot in first_others]
    result = trial if same else _engine(session, req, api_lot, others)
    return _Plan(pool, api_lot, chosen, plans, result)


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
            return lot, trial, first_others
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
