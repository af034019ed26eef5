"""Starting a batch: check the request (request.py), pick lots (picking.py), run the engine,
save the record with a frozen snapshot of everything it was computed from, and move its
orders into compounding."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from ...domain import lifecycle
from ...domain.errors import ValidationFailed
from ...domain.weighing import NOT_FROM_STOCK_ROLES
from ...models import Batch, BatchLotUsage, User
from .. import audit, training
from .. import orders as order_service
from .checks import check_excipient_allergies
from .common import (
    SNAPSHOT_VERSION,
    _lock_lots,
    _lock_orders,
    _view,
    next_batch_number,
)
from .picking import _lock_pool, _LotPool, _Plan, _plan, _split_lines, _unlocked_pool
from .potency import accept_potency_if_needed
from .request import StartInput, _check_orders_fit, _check_request, _Request

__all__ = ["StartInput", "start_batch"]


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
        # An order waiting on another batch's check is back in compounding: this one is made.
        if o.status in ("verified", "quality_check"):
            order_service.transition(
                session, actor, o, "in_compounding", reason=f"batch {batch.batch_number} started"
            )


def _needs(rows) -> dict[int, Decimal]:
    """What the batch takes out of each lot's stock (an aliquot comes out of the mixture)."""
    needs: dict[int, Decimal] = {}
    for _ln, role, lot, planned, _unit in rows:
        if role not in NOT_FROM_STOCK_ROLES:
            needs[lot.id] = needs.get(lot.id, Decimal(0)) + planned
    return needs


def _confirm(session: Session, plan: _Plan, rows) -> bool:
    """Lock the lots the plan uses (id order) and check, on the locked rows, that nothing the
    plan was computed from has changed and that each still holds what the batch takes. The
    locks are taken in a savepoint: when the check fails they are let go before every lot is
    locked in id order (so two starts never hold one another's lots in a cycle)."""
    lots = {lot.id: lot for lot in plan.chosen.values()}
    before = {i: _fingerprint(lot) for i, lot in lots.items()}
    savepoint = session.begin_nested()
    locked = _lock_lots(session, (), lots)  # populate_existing: the plan's objects, refreshed
    needs = _needs(rows)
    ok = len(locked) == len(lots) and all(
        _fingerprint(lot) == before[lot.id] and lot.on_hand >= needs.get(lot.id, 0)
        for lot in locked
    )
    if not ok:
        savepoint.rollback()
        return False
    savepoint.commit()
    plan.pool.stock.update({lot.id: lot.on_hand for lot in locked})  # as locked
    return True


def _fingerprint(lot) -> tuple:
    """What picking and the engine read from a lot, its stock aside."""
    return (
        lot.ingredient_id,
        lot.lot_number,
        lot.status,
        lot.expires_on,
        lot.received_on,
        lot.unit,
        lot.assay_percent,
        lot.assay_basis,
        lot.water_percent,
        lot.potency_acceptance,
    )


def _unlocked_plan(session: Session, req: _Request, inp: StartInput, active):
    """The plan made on the in-date released lots read without a lock (no plan when lots were
    chosen by hand or the plan fails: both are decided under the locks, as before)."""
    if inp.override_lot_ids:
        return None
    try:
        plan = _plan(session, req, _unlocked_pool(session, req), active)
        return plan, _split_lines(req, plan.chosen, plan.plans, plan.result)
    except ValidationFailed:
        return None  # said again, exactly, under the locks


def _locked_plan(session: Session, req: _Request, inp: StartInput, active):
    """Every lot of the formula locked and the plan made under the locks: when lots were
    chosen by hand, the unlocked plan failed, or a lot it chose changed before it was locked
    (another batch took the stock first, a status moved)."""
    plan = _plan(session, req, _lock_pool(session, req, inp.override_lot_ids), active)
    return plan, _split_lines(req, plan.chosen, plan.plans, plan.result)


def _prepare(session: Session, actor: User, inp: StartInput, req: _Request, planned) -> Batch:
    """The batch, its lot lines and its frozen snapshot, built in Python without a statement
    (so, when the plan was made unlocked, before any lock is taken); its number, and the
    stock its lots held once locked, are filled in under the locks (`_stamp`)."""
    plan, rows = planned
    allergies, allergy_reason = check_excipient_allergies(
        actor, req.formula, req.orders, inp.allergy_override
    )
    batch = _new_batch("", req, plan.result, actor)
    usages_info = _add_usages(batch, req, plan.pool, rows)
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
        req.formula, request_values, req.balance, usages_info, plan.result, req.orders
    )
    return batch


def _stamp(batch: Batch, number: str, plan: _Plan) -> None:
    """What is known only under the locks: the number, each lot's stock as locked and a
    potency acceptance recorded just now."""
    batch.batch_number = number
    lots = {lot.id: lot for lot in plan.chosen.values()}
    for info in batch.calculation["lots"]:
        info["on_hand_before"] = audit._plain(plan.pool.stock.get(info["lot_id"]))
        info["potency_accepted"] = lots[info["lot_id"]].potency_acceptance


def start_batch(session: Session, actor: User, inp: StartInput) -> Batch:
    """Run the engine on FEFO (or overridden) lots and save the batch with a frozen snapshot.

    Locks, in the fixed order and as late as they can be: the plan and the record are made
    first on lots read without a lock, then the counter is locked, then only the lots the
    plan uses, which are checked unchanged (else every lot is locked and the plan made
    again), then the rows are written. Two batches never take the same stock: each lot's
    stock is checked and moved under its lock."""
    training.require_current(session, actor, "compounding")
    req = _check_request(session, inp)
    active = next((ln for ln in req.formula.lines if ln.role == "active"), None)
    if active is None:
        raise ValidationFailed.single("formula_id", f"{req.formula.code} has no active ingredient")
    planned = _unlocked_plan(session, req, inp, active)
    batch = _prepare(session, actor, inp, req, planned) if planned else None
    number = next_batch_number(session, req.formula.code, req.on)  # the first lock
    if planned is None or not _confirm(session, *planned):
        planned = _locked_plan(session, req, inp, active)
        batch = _prepare(session, actor, inp, req, planned)
    plan = planned[0]
    accept_potency_if_needed(session, actor, plan.api_lot, inp.potency_acceptance)
    _stamp(batch, number, plan)
    session.add(batch)
    session.flush()
    _attach_orders(session, actor, batch, req)
    return batch
