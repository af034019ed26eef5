"""Batch creation and dispensing under concurrent clients (PostgreSQL), against one client."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, insert, select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import DomainError
from pharmacy.extensions import db
from pharmacy.models import Balance, Batch, Formula, Order, Prescription, User
from pharmacy.services import batches, inventory

CLIENTS = 4


def _run_clients(app, clients: int, seconds: float, work) -> tuple[int, int]:
    done, failed = [0] * clients, [0] * clients
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        with app.app_context():
            while time.perf_counter() < stop:
                try:
                    work(i)
                    done[i] += 1
                except DomainError:
                    failed[i] += 1
                finally:
                    db.session.remove()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), sum(failed)


def _ids():
    tech = db.session.scalar(select(User.id).where(User.username == "technician"))
    formula = db.session.scalar(
        select(Formula).where(Formula.dosage_form == "capsule", Formula.status == "approved")
    )
    balance = db.session.scalar(select(Balance.id).where(Balance.calibration_due >= date.today()))
    return tech, formula, balance


def bench_batch_creation(report, app, seconds: float) -> None:
    with app.app_context():
        tech_id, formula, balance_id = _ids()
        formula_id = formula.id

    def work(_i):
        with unit_of_work() as s:
            tech = s.get(User, tech_id)
            batches.start_batch(
                s,
                tech,
                batches.StartInput(
                    formula_id=formula_id,
                    balance_id=balance_id,
                    strength_mg=Decimal("4.5"),
                    strength_basis="hcl",
                    quantity=100,
                ),
            )

    one, _ = _run_clients(app, 1, seconds, work)
    many, failed = _run_clients(app, CLIENTS, seconds, work)
    report.add(
        f"batch creation, {CLIENTS} clients (ops/s)",
        f"{many / seconds:.1f}",
        f"1 client {one / seconds:.1f}",
        f"{many / max(one, 1):.2f}x",
        "no duplicate numbers",
        ok=failed == 0,
    )


def _released_batch(app, units: int) -> int:
    """A released batch with plenty of stock, written directly: the measure is dispensing."""
    with app.app_context(), unit_of_work() as s:
        tech_id, formula, balance_id = _ids()
        pharmacist = s.scalar(select(User.id).where(User.username == "pharmacist"))
        today = date.today()
        b = Batch(
            batch_number=f"BENCH-{datetime.now(UTC):%H%M%S%f}",
            formula_id=formula.id,
            strength_mg=Decimal("4.5"),
            strength_basis="hcl",
            units_planned=units,
            units_made=units,
            units_remaining=units,
            unit="capsule",
            status="released",
            compounded_on=today,
            beyond_use_date=today + timedelta(days=90),
            bud_limited_by="bench",
            calculation={"bench": True},
            balance_id=balance_id,
            compounded_by_id=tech_id,
            checked_by_id=pharmacist,
            released_at=datetime.now(UTC),
        )
        s.add(b)
        s.flush()
        return b.id


def _fresh_orders(app, formula_id: int, n: int = 4000) -> None:
    """New verified fills of 4.5 mg prescriptions, so the measure repeats on a reused dataset
    (each run dispenses the orders it uses)."""
    with app.app_context(), unit_of_work() as s:
        user_id = s.scalar(select(User.id).order_by(User.id).limit(1))
        latest = s.execute(
            select(Order.prescription_id, func.max(Order.fill_number))
            .join(Prescription)
            .where(
                Prescription.strength_mg == Decimal("4.5"),
                Prescription.formula_id == formula_id,
                Prescription.strength_basis == "hcl",
            )
            .group_by(Order.prescription_id)
            .limit(n)
        ).all()
        s.execute(
            insert(Order),
            [
                {
                    "prescription_id": rx_id,
                    "fill_number": fill + 1,
                    "status": "verified",
                    "quantity": Decimal(30),
                    "quantity_unit": "capsule",
                    "created_by_id": user_id,
                }
                for rx_id, fill in latest
            ],
        )


def bench_dispensing(report, app, seconds: float) -> None:
    with app.app_context():
        formula_id = _ids()[1].id
    _fresh_orders(app, formula_id)
    with app.app_context():
        rows = db.session.execute(
            select(Order.id, Order.quantity)
            .join(Prescription)
            .where(
                Order.status == "verified",
                Prescription.strength_mg == Decimal("4.5"),
                Prescription.formula_id == formula_id,
                Prescription.strength_basis == "hcl",
            )
            .order_by(Order.id)
            .limit(4000)
        ).all()
        tech_id = db.session.scalar(select(User.id).where(User.username == "technician"))
    if len(rows) < 2 * CLIENTS:
        report.add("dispensing", "skipped: too few verified 4.5 mg orders in the dataset")
        return
    half = len(rows) // 2
    runs = {}
    for label, clients, pool in (("one", 1, rows[:half]), ("many", CLIENTS, rows[half:])):
        batch_id = _released_batch(app, units=10_000_000)
        queues = [iter(pool[i::clients]) for i in range(clients)]

        def work(i, queues=queues, batch_id=batch_id):
            order_id, qty = next(queues[i])
            with unit_of_work() as s:
                batches.dispense(s, s.get(User, tech_id), batch_id, order_id, int(qty))

        try:
            runs[label] = _run_clients(app, clients, seconds, work)
        except StopIteration:
            runs[label] = (len(pool), 0)
    one, many = runs["one"][0], runs["many"][0]
    report.add(
        f"dispensing, {CLIENTS} clients (ops/s)",
        f"{many / seconds:.1f}",
        f"1 client {one / seconds:.1f}",
        f"{many / max(one, 1):.2f}x",
    )


@contextlib.contextmanager
def undone(app):
    """Leave the dataset as it was: the rows the writes add are deleted afterwards (newest
    tables first), so a reused dataset gives the read figures the same data every run. Only
    the audit trail keeps what the writes recorded: it is append-only by design."""
    # The audit trail is append-only (database triggers refuse DELETE): its rows stay.
    tables = [
        t
        for t in reversed(db.metadata.sorted_tables)
        if "id" in t.c and not t.name.startswith("audit_")
    ]
    with app.app_context():
        marks = {t.name: db.session.scalar(select(func.max(t.c.id))) or 0 for t in tables}
        db.session.rollback()
    try:
        yield
    finally:
        with app.app_context(), db.engine.begin() as conn:
            # Rows the writes changed rather than added: the orders they dispensed are their
            # own fresh orders (deleted), the batches too; the lots' running stock is summed
            # again below; only counters move forward.
            for t in tables:
                conn.execute(delete(t).where(t.c.id > marks[t.name]))
            inventory.resum_running_stock(conn)  # the lots' running stock, as it was


def run(report, app, seconds: float = 5) -> None:
    with undone(app):
        bench_batch_creation(report, app, seconds)
        bench_dispensing(report, app, seconds)
