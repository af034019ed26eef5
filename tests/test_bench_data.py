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


def test_generated_lots_keep_running_stock_and_the_writes_bench_leaves_no_trace(app):
    """The generator's bulk-loaded usages are summed into the lots' running stock; the writes
    bench (batch start and dispensing) leaves the dataset as it found it."""
    from bench import writes
    from bench.report import Report
    from pharmacy.models import AuditEvent
    from pharmacy.services.inventory import verify_running_stock

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    assert runner.invoke(args=["bench-data", "--orders", "400", "--seed", "7"]).exit_code == 0
    assert runner.invoke(args=["stock", "verify"]).exit_code == 0

    def snapshot():
        with app.app_context():
            # The audit trail is append-only: the writes' audit rows stay (and chain).
            rows = (count(Order), count(Batch), count(BatchLotUsage))
            stock = dict(db.session.execute(select(IngredientLot.id, IngredientLot.on_hand)).all())
            db.session.rollback()
            return rows, stock

    before = snapshot()
    report = Report("writes")
    writes.run(report, app, seconds=0.5)
    [created] = [r for r in report.rows if r.name.startswith("batch creation")]
    assert float(created.figure) > 0 and created.verdict == "ok"  # batches were made, then undone
    assert snapshot() == before
    with app.app_context():
        assert verify_running_stock(db.session) == []
        assert count(AuditEvent) > 0
