"""The lot's running stock on hand equals receipt + adjustments - usages after every kind of
movement, batch start reads it, and `flask stock verify` says so (or names the lot)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import select, update

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import BatchLotUsage, IngredientLot, User
from pharmacy.services import inventory
from pharmacy.services.batches import on_hand
from tests.batch_helpers import latest_batch, seed, start_form, weights_data


def _derived(lot_id: int) -> D:
    return inventory.lot_stock(db.session, lot_id).on_hand


def _all_agree(app) -> None:
    with app.app_context():
        assert inventory.verify_running_stock(db.session) == []
        lots = db.session.scalars(select(IngredientLot)).all()
        for lot in lots:
            assert lot.on_hand == _derived(lot.id), lot.lot_number
        today = date.today()
        for ingredient_id in {lot.ingredient_id for lot in lots}:  # batch start's FEFO choice
            derived = [st.lot for st in inventory.usable_lots(db.session, ingredient_id, today)]
            assert inventory.usable_lots_running(db.session, ingredient_id, today) == derived
        db.session.rollback()


def test_running_stock_follows_every_movement(app, pharmacy, as_role):
    ids = seed(app)
    _all_agree(app)  # received lots start at their receipt
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context():
        before = db.session.get(IngredientLot, lot_id).on_hand
        db.session.rollback()
    with app.app_context(), unit_of_work() as s:
        pharmacist = s.scalar(select(User).where(User.username == "pharmacist"))
        lot = s.get(IngredientLot, lot_id)
        inventory.record_adjustment(s, pharmacist, lot, "spillage", D("12.5"), lot.unit, "spilt")
        assert lot.on_hand == before - D("12.5")  # the session's copy moves too
    _all_agree(app)

    c = as_role("technician")
    assert c.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    _all_agree(app)  # planned quantities taken out
    with app.app_context():
        planned = db.session.scalar(
            select(BatchLotUsage.planned_quantity).where(
                BatchLotUsage.batch_id == bid, BatchLotUsage.lot_id == lot_id
            )
        )
        assert db.session.get(IngredientLot, lot_id).on_hand == before - D("12.5") - planned
        assert on_hand(db.session, [lot_id]) == {lot_id: before - D("12.5") - planned}
        db.session.rollback()
    resp = c.post(f"/batches/{bid}/weights", data=weights_data(app, bid))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        actual = db.session.scalars(
            select(BatchLotUsage.actual_quantity).where(BatchLotUsage.batch_id == bid)
        ).all()
        assert actual and all(a is not None for a in actual)
        db.session.rollback()
    _all_agree(app)  # actual quantities replace the planned ones

    with app.app_context(), unit_of_work() as s:  # a corrected receipt moves it as well
        s.get(IngredientLot, lot_id).quantity_received += D(100)
    _all_agree(app)


def test_stock_verify_command_names_a_lot_that_disagrees(app, pharmacy):
    ids = seed(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stock", "verify"])
    assert result.exit_code == 0, result.output
    assert "equals the sum" in result.output
    with app.app_context(), db.engine.begin() as conn:  # bypassing the app, as a script might
        conn.execute(
            update(IngredientLot)
            .where(IngredientLot.id == ids["lots"]["NTX-25002"])
            .values(on_hand=IngredientLot.on_hand + 1)
        )
    result = runner.invoke(args=["stock", "verify"])
    assert result.exit_code == 1
    assert "lot NTX-25002" in result.output
