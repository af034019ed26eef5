"""Real parallel transactions on PostgreSQL: batch numbers, lot stock and dispensing stay
correct. Each thread has its own app context, session and connection."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import DomainError
from pharmacy.extensions import db
from pharmacy.models import Batch, BatchLotUsage, Dispense, IngredientLot, User
from pharmacy.services import batches as service
from tests.batch_helpers import TODAY, make_order, seed
from tests.support import signoff

pytestmark = pytest.mark.postgres
THREADS = 20


@pytest.fixture
def pg_app(app, backend, pharmacy):
    if backend != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL (TEST_DATABASE_URL)")
    return app


def _parallel(app, n, work):
    """Run work(i) in n threads released together; returns (results, errors)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except DomainError as exc:
                errors[i] = exc
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results, errors


def _user(s, name):
    return s.scalar(select(User).where(User.username == name))


def test_parallel_batch_starts_get_unique_numbers_and_never_overdraw_a_lot(pg_app):
    app = pg_app
    ids = seed(app)
    # The first-expiring API lot holds enough for exactly 4 batches (4 x 458.08 mg).
    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, ids["lots"]["NTX-25002"]).quantity_received = D("1900")

    def work(_i):
        with unit_of_work() as s:
            batch = service.start_batch(
                s,
                _user(s, "technician"),
                service.StartInput(ids["cap"], ids["balance"], D("4.5"), "hcl", 100),
            )
            return batch.batch_number

    numbers, errors = _parallel(app, THREADS, work)
    assert errors == [None] * THREADS, errors
    prefix = f"{TODAY:%Y%m%d}-LDNCAP-"
    assert sorted(numbers) == [f"{prefix}{i:03d}" for i in range(1, THREADS + 1)]
    with app.app_context():
        used = dict(
            db.session.execute(
                select(BatchLotUsage.lot_id, func.count())
                .where(BatchLotUsage.role == "active")
                .group_by(BatchLotUsage.lot_id)
            ).all()
        )
        assert used == {ids["lots"]["NTX-25002"]: 4, ids["lots"]["NTX-24117"]: THREADS - 4}
        stock = service.on_hand(db.session, ids["lots"].values())
        assert stock[ids["lots"]["NTX-25002"]] == D("1900") - 4 * D("458.08")
        assert all(v >= 0 for v in stock.values())


def _released(app, ids, units: int) -> int:
    with app.app_context(), unit_of_work() as s:
        batch = service.start_batch(
            s,
            _user(s, "technician"),
            service.StartInput(ids["cap"], ids["balance"], D("4.5"), "hcl", units),
        )
        bid = batch.id
    with app.app_context(), unit_of_work() as s:
        batch = s.get(Batch, bid)
        tech = _user(s, "technician")
        service.record_weights(
            s,
            tech,
            batch,
            [
                service.WeightEntry(u.id, u.planned_quantity, ids["balance"])
                for u in batch.lot_usages
            ],
        )
        service.record_qc(
            s,
            tech,
            batch,
            service.QcInput("ok", True, units, tuple([D("296")] * 10), D("96")),
        )
        service.release(s, _user(s, "pharmacist"), batch, sign=signoff())
    return bid


def test_parallel_dispenses_never_overdraw_a_batch(pg_app):
    app = pg_app
    ids = seed(app)
    bid = _released(app, ids, 100)
    orders = [make_order(app, quantity=10) for _ in range(THREADS)]

    def work(i):
        with unit_of_work() as s:
            return service.dispense(s, _user(s, "technician"), bid, orders[i], 10).id

    results, errors = _parallel(app, THREADS, work)
    won = [r for r in results if r is not None]
    assert len(won) == 10
    assert all("holds" in str(e) for e in errors if e is not None), errors
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == 0
        total = db.session.scalar(select(func.sum(Dispense.quantity)))
        assert total == D("100")


def test_two_clients_dispensing_the_last_units_exactly_one_wins(pg_app):
    app = pg_app
    ids = seed(app)
    bid = _released(app, ids, 12)
    with app.app_context(), unit_of_work() as s:
        tech = _user(s, "technician")
        first = make_order(app, quantity=7)
        service.dispense(s, tech, bid, first, 7)
    a, b = make_order(app, quantity=5), make_order(app, quantity=5)

    def work(i):
        with unit_of_work() as s:
            return service.dispense(s, _user(s, "technician"), bid, (a, b)[i], 5).id

    results, errors = _parallel(app, 2, work)
    assert sum(r is not None for r in results) == 1
    assert sum(e is not None for e in errors) == 1
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == 0


def test_two_batches_filling_one_order_never_overfill_it(pg_app):
    app = pg_app
    ids = seed(app)
    b1, b2 = _released(app, ids, 50), _released(app, ids, 50)
    order = make_order(app, quantity=30)

    def work(i):
        with unit_of_work() as s:
            return service.dispense(s, _user(s, "technician"), (b1, b2)[i], order, 30).id

    results, errors = _parallel(app, 2, work)
    assert sum(r is not None for r in results) == 1, errors
    with app.app_context():
        assert db.session.scalar(select(func.sum(Dispense.quantity))) == D("30")
        # the loser's batch decrement was rolled back with its transaction
        remaining = sorted(db.session.get(Batch, i).units_remaining for i in (b1, b2))
        assert remaining == [20, 50]


def test_two_parallel_fill_alls_never_overdraw_the_batch_nor_overfill_an_order(pg_app):
    app = pg_app
    ids = seed(app)
    bid = _released(app, ids, 60)
    with app.app_context(), unit_of_work() as s:
        from pharmacy.models import Order

        for o in s.scalars(select(Order).where(Order.status.in_(("verified", "in_compounding")))):
            o.status = "cancelled"  # only this test's orders
    orders = [make_order(app, quantity=20) for _ in range(5)]

    def work(i):
        with unit_of_work() as s:
            filled, _skipped = service.fill_all(s, _user(s, "technician"), bid)
            return [d.order_id for d in filled]

    results, errors = _parallel(app, 2, work)
    assert any(r for r in results), errors
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == 0
        per_order = dict(
            db.session.execute(
                select(Dispense.order_id, func.sum(Dispense.quantity)).group_by(Dispense.order_id)
            ).all()
        )
        assert sum(per_order.values()) == D("60")
        assert all(q == D("20") for q in per_order.values()) and set(per_order) <= set(orders)
