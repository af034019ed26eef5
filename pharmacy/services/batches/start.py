"""Starting a batch: check the request (request.py), pick lots (picking.py), run the engine,
save the record with a frozen snapshot of everything it was computed from, and move its
orders into compounding."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...domain import lifecycle
from ...domain.errors import ValidationFailed
from ...models import Batch, BatchLotUsage, User
from .. import audit, training
from .. import orders as order_service
from .checks import check_excipient_allergies
from .common import (
    SNAPSHOT_VERSION,
    _lock_orders,
    _view,
    next_batch_number,
)
from .picking import _engine, _lock_pool, _LotPool, _pick_api_lot, _pick_other_lots, _split_lines
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
