"""Batch start plans on lots read without a lock, then locks only the lots it uses and checks
them: a lot that changed in between sends it back to the plan made under every lot's lock,
and a lot it does not use may be locked elsewhere without holding it up."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import select, text, update

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import BatchLotUsage, IngredientLot, User
from pharmacy.services import batches as service
from pharmacy.services import inventory
from pharmacy.services.batches import start as start_module
from tests.batch_helpers import seed


def _start(s):
    tech = s.scalar(select(User).where(User.username == "technician"))
    return service.start_batch(s, tech, service.StartInput(*_start.args))


def test_a_lot_drained_between_plan_and_lock_sends_the_start_to_the_next_fefo_lot(
    app, pharmacy, monkeypatch
):
    ids = seed(app)
    first, second = ids["lots"]["NTX-25002"], ids["lots"]["NTX-24117"]
    planned = start_module._unlocked_plan

    def plan_then_drain(session, *args):
        out = planned(session, *args)
        assert out is not None and out[0].api_lot.id == first  # planned on the first lot
        # Another batch takes its stock before this one locks it (receipt and running
        # stock lowered together, so the lot stays consistent).
        table = IngredientLot.__table__
        session.execute(
            update(table).where(table.c.id == first).values(quantity_received=100, on_hand=100)
        )
        return out

    monkeypatch.setattr(start_module, "_unlocked_plan", plan_then_drain)
    _start.args = (ids["cap"], ids["balance"], D("4.5"), "hcl", 100)
    with app.app_context(), unit_of_work() as s:
        batch = _start(s)
        active = next(u for u in batch.lot_usages if u.role == "active")
        assert active.lot_id == second
        locked_stock = s.get(IngredientLot, second).on_hand + active.planned_quantity
        api = next(i for i in batch.calculation["lots"] if i["role"] == "active")
        assert api["lot_id"] == second and D(api["on_hand_before"]) == locked_stock
    with app.app_context():
        assert inventory.verify_running_stock(db.session) == []
        assert db.session.get(IngredientLot, first).on_hand == D(100)  # untouched


def test_the_snapshot_records_each_lots_stock_as_locked(app, pharmacy):
    ids = seed(app)
    _start.args = (ids["cap"], ids["balance"], D("4.5"), "hcl", 100)
    with app.app_context(), unit_of_work() as s:
        before = {lot.id: lot.on_hand for lot in s.scalars(select(IngredientLot))}
        batch = _start(s)
        for info in batch.calculation["lots"]:
            assert D(info["on_hand_before"]) == before[info["lot_id"]]
        assert batch.batch_number.endswith("-001")


@pytest.mark.postgres
def test_a_lot_the_start_does_not_use_may_be_locked_elsewhere(app, backend, pharmacy):
    """Before, batch start locked every lot of its formula's ingredients: a lot being
    adjusted in another transaction held every start of that formula up."""
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    ids = seed(app)
    _start.args = (ids["cap"], ids["balance"], D("4.5"), "hcl", 100)
    other_lot = ids["lots"]["NTX-24117"]  # same ingredient, expires later: not chosen
    with app.app_context():
        holder = db.engine.connect()
        tx = holder.begin()
        holder.execute(
            select(IngredientLot.id).where(IngredientLot.id == other_lot).with_for_update()
        )
        try:
            result = {}

            def work():
                with app.app_context(), unit_of_work() as s:
                    s.execute(text("SET LOCAL lock_timeout = '3s'"))
                    result["lot"] = next(
                        u.lot_id for u in _start(s).lot_usages if u.role == "active"
                    )

            t = threading.Thread(target=work)
            t.start()
            t.join(timeout=30)
            assert result.get("lot") == ids["lots"]["NTX-25002"]
        finally:
            tx.rollback()
            holder.close()
        used = db.session.scalars(select(BatchLotUsage.lot_id)).all()
        assert other_lot not in used
