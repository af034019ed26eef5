"""The benchmark dataset generator: right proportions, consistent links, idempotent per seed."""

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import Batch, BatchLotUsage, Dispense, IngredientLot, Order, Prescription


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_bench_data_loads_orders_and_is_idempotent(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    with app.app_context():
        demo_orders, demo_dispenses = count(Order), count(Dispense)
    result = runner.invoke(args=["bench-data", "--orders", "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(Order) == demo_orders + 400
        dispensed = count(Order, Order.status == "dispensed", Order.id > demo_orders)
        assert dispensed > 300
        assert count(Dispense) == demo_dispenses + dispensed
        assert count(BatchLotUsage) == 3 * count(Batch)
        # Every dispense came from a batch compounded before it, whose API lot was in date.
        late = db.session.scalar(
            select(func.count())
            .select_from(Dispense)
            .join(Batch)
            .where(Batch.beyond_use_date < Batch.compounded_on)
        )
        assert late == 0
        rx = count(Prescription)
        numbers = set(db.session.scalars(select(Prescription.rx_number)))
        assert len(numbers) == rx
        assert count(IngredientLot) > 100
        from pharmacy.services.inventory import lot_stocks

        lot_ids = list(db.session.scalars(select(IngredientLot.id)))
        assert min(st.on_hand for st in lot_stocks(db.session, lot_ids).values()) >= 0
    again = runner.invoke(args=["bench-data", "--orders", "400", "--seed", "7"])
    assert again.exit_code == 0 and "already loaded" in again.output
    with app.app_context():
        assert count(Order) == demo_orders + 400
