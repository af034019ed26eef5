"""The look-up and queue board's lean queries: same results as before, served by indexes,
bounded; SQLite reads that do not queue behind writers; one query to load a signed-in user."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from pharmacy.database import reads_deferred, unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Order, Patient, User
from pharmacy.services import accounts, orders, patients, prescriptions
from tests.rx_helpers import make_patient, make_prescriber, rx_input


@pytest.fixture
def people(ctx):
    with unit_of_work() as s:
        doc = make_prescriber(s, ctx["pharmacist"])
        ellis = make_patient(s, ctx["pharmacist"])
        other = make_patient(s, ctx["pharmacist"], last="Ellison", first="Zoe", phone="3125550000")
        ortiz = make_patient(s, ctx["pharmacist"], last="Ortiz", first="Zack", phone="3125550001")
    return ctx, doc.id, {"ellis": ellis.id, "ellison": other.id, "ortiz": ortiz.id}


def _enter(ctx, pid, did):
    with unit_of_work() as s:
        return prescriptions.enter_prescription(s, ctx["staff"], rx_input(pid, did))


def _names(q: str) -> set[str]:
    return {o.patient_name for o in orders.lookup(db.session, q).orders}


def test_name_prefix_search_matches_as_before_case_insensitively(people):
    ctx, did, pids = people
    for pid in pids.values():
        _enter(ctx, pid, did)
    margaret, zoe, zack = "Margaret Ellis", "Zoe Ellison", "Zack Ortiz"
    assert _names("ellis ma") == _names("ELLIS MA") == _names("Ellis, Mar") == {margaret}
    assert _names("margaret ellis") == _names("Margaret ELLIS") == {margaret}
    assert _names("ellis") == _names("ELL") == {margaret, zoe}
    assert _names("ellison z") == _names("zoe ellison") == {zoe}
    assert _names("ortiz z") == _names("ortiz zack") == _names("ortiz") == {zack}  # 'z' + 1 = '{'
    assert _names("ellis mb") == _names("ellisz") == _names("nobody") == set()
    found = [p.last_name for p in patients.search_patients(db.session, "ELLIS m")]
    assert found == ["Ellis"]


def test_list_rows_carry_what_the_order_entity_shows(people):
    ctx, did, pids = people
    rx = _enter(ctx, pids["ellis"], did)
    [row] = orders.lookup(db.session, rx.rx_number).orders
    order = db.session.get(Order, row.id)
    assert row.number == order.number and row.status == order.status
    assert row.patient_name == order.prescription.patient.full_name
    assert (row.strength_mg, row.quantity) == (order.prescription.strength_mg, order.quantity)
    # the API's JSON for a list row is exactly what it was for the ORM entity
    assert orders.order_dict(row) == orders.order_dict(order)


def test_queue_board_gives_each_queue_its_first_page(people):
    ctx, did, pids = people
    for _ in range(3):
        _enter(ctx, pids["ellis"], did)
    board, _counts = orders.queue_board(db.session, ["verified", "received"], limit=2)
    assert [status for status, _rows, _next in board] == ["verified", "received"]
    for status, rows, next_after in board:
        assert (rows, next_after) == orders.queue(db.session, status, limit=2)
    [(_s, received, cursor)], _counts = orders.queue_board(db.session, ["received"], limit=2)
    assert len(received) == 2 and cursor == received[-1].id
    with pytest.raises(Exception, match="not an open order status"):
        orders.queue_board(db.session, ["dispensed"])


def test_queue_counts_are_capped(people):
    ctx, did, pids = people
    for _ in range(3):
        _enter(ctx, pids["ellis"], did)
    assert orders.queue_counts(db.session)["received"] == 3
    assert orders.queue_counts(db.session, cap=1)["received"] == 2  # more than the cap: "1+"
    assert orders.queue_counts(db.session, cap=1)["ready"] == 0


def test_board_with_counts_is_one_statement_with_the_same_counts(people):
    ctx, did, pids = people
    statuses = orders.queue_order_for(frozenset({"pharmacist"}))
    # No open order at all: no row carries the counts, so they are counted on their own.
    board, counts = orders.queue_board(db.session, ["verified"])
    assert board == [("verified", [], None)] and counts == orders.queue_counts(db.session)
    for _ in range(3):
        _enter(ctx, pids["ellis"], did)
    # Only the received queue has orders: a queue left off the board is still counted.
    board, counts = orders.queue_board(db.session, ["verified"])
    assert board == [("verified", [], None)] and counts["received"] == 3
    statements = []

    def seen(_conn, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        board, counts = orders.queue_board(db.session, statuses, limit=2)
        capped = orders.queue_board(db.session, statuses, cap=1)[1]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 2  # one each: rows and counts together
    assert board == [(s, *orders.queue(db.session, s, limit=2)) for s in statuses]
    assert counts == orders.queue_counts(db.session) and counts["received"] == 3
    assert capped == orders.queue_counts(db.session, cap=1) and capped["received"] == 2


def test_a_signed_in_user_loads_with_one_query(ctx):
    token = accounts.start_session(db.session, ctx["staff"], None, None)
    db.session.commit()
    db.session.expunge_all()
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        user, why = accounts.load_session(
            db.session, token, timedelta(minutes=15), timedelta(hours=12)
        )
        assert why is None and user.roles == frozenset({"staff"})
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def _plan(sql: str) -> str:
    params = (None,) * sql.count("?")  # the plan does not depend on the values
    rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
    return "\n".join(r[-1] for r in rows)


def test_lookups_use_indexes_on_sqlite(people, backend):
    # The test database has no table statistics (no ANALYZE), the hardest case for the planner.
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; see docs/performance.md for PostgreSQL")
    dialect = db.engine.dialect

    def sql(kind, shape):
        statement = orders._lookup_statement(kind, shape, False, "sqlite")
        return str(statement.compile(dialect=dialect))

    name = _plan(sql("name", (True, True)))
    assert "ix_patient_name_key (name_key>? AND name_key<?)" in name
    dob = _plan(sql("dob", ()))
    assert "ix_patient_date_of_birth (date_of_birth=?)" in dob
    rx = _plan(sql("rx", (False,)))
    assert "SEARCH prescription USING INDEX" in rx and "(rx_number=?)" in rx
    for plan in (name, dob, rx):
        assert "SCAN" not in plan, plan  # no full scan of any table
        assert "rx_order USING INDEX sqlite_autoindex_rx_order_1 (prescription_id=?)" in plan
    # Statuses and page sizes are written into these statements' text (literal_execute).
    queue = _literal(orders._queue_statement(False), status="verified", limit=26)
    assert "ix_rx_order_status_id (status=?)" in _plan(queue)
    statuses = {f"status{i}": s for i, s in enumerate(orders.OPEN_STATUSES[:6])}
    board = _literal(orders._board_statement(6), **statuses, limit=11, cap=1001)
    assert "SCAN rx_order" not in _plan(board)


def _literal(statement, **values) -> str:
    return str(
        statement.params(**values).compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
    )


def test_queue_statements_reuse_one_plan_on_postgresql(people, backend):
    """With `status = $1` PostgreSQL's generic plan for the board was a blind read of the
    (status, id) index (87 ms at 1M orders), so it planned every execution afresh (about 1 ms).
    The statuses are in the text: no parameter is left, and the prepared plan is reused."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    ctx, did, pids = people
    _enter(ctx, pids["ellis"], did)
    statuses = list(orders.OPEN_STATUSES)
    for _ in range(14):  # psycopg prepares on the 5th run; PostgreSQL plans 5 times afresh
        orders.queue_board(db.session, statuses)
        orders.queue(db.session, "received")
    plans = db.session.execute(
        text(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%rx_order.status = %'"
        )
    ).all()
    board = [p for p in plans if "AS n_received" in p.statement]
    queue = [p for p in plans if p not in board and "status = 'received' ORDER BY" in p.statement]
    assert board and queue, [p.statement[:80] for p in plans]
    [board], [queue] = board, queue
    assert "$" not in board.statement and board.custom_plans == 0 and board.generic_plans >= 3
    # A queue page's size stays a parameter (the API asks for any size up to its maximum).
    assert queue.statement.count("$") == 1 and queue.generic_plans >= 3, queue
    assert queue.custom_plans <= 5


def test_name_key_is_binary_collated_on_postgresql(people, backend):
    if backend != "postgresql":
        pytest.skip("SQLite compares text in binary order already")
    collation = db.session.scalar(
        text(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'patient' "
            "AND column_name = 'name_key'"
        )
    )
    assert collation == "C"


def test_sqlite_reads_do_not_take_the_write_lock(app, people, backend):
    if backend != "sqlite":
        pytest.skip("SQLite's transaction modes")
    path = db.engine.url.database
    staff_id = people[0]["staff"].id
    db.session.rollback()  # end the fixtures' transaction
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        with app.test_request_context("/"):
            reads_deferred(True)
            try:
                db.session.scalar(select(Patient.id).limit(1))  # a request's read
                assert db.session.connection().info["sqlite_reader"]
                other.execute("BEGIN IMMEDIATE")  # another worker can still write meanwhile
                other.execute("UPDATE patient SET phone = phone")
                other.execute("COMMIT")
                with unit_of_work() as s:  # restarts as a writer: the write lock, fresh data
                    assert not s.connection().info["sqlite_reader"]
                    s.get(User, staff_id).full_name = "Staff Member"
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        other.execute("BEGIN IMMEDIATE")  # now writers queue behind us
            finally:
                reads_deferred(False)
                db.session.remove()
        assert db.session.get(User, staff_id).full_name == "Staff Member"
    finally:
        other.close()


def test_phone_search_matches_the_end_of_the_number(people):
    ctx, did, pids = people
    for pid in pids.values():
        _enter(ctx, pid, did)
    zoe, zack = "Zoe Ellison", "Zack Ortiz"
    assert _names("3125550000") == _names("(312) 555-0000") == _names("555-0000") == {zoe}
    assert _names("0001") == _names("555 0001") == {zack}
    assert _names("5550") == set()  # in the middle of both numbers, at the end of neither
    assert _names("50000") == {zoe}
    found = [p.last_name for p in patients.search_patients(db.session, "555-0001")]
    assert found == ["Ortiz"]
    with unit_of_work() as s:  # an edited number is found by its new digits only
        s.get(Patient, pids["ortiz"]).phone = "217-555-9999"
    assert _names("9999") == {zack} and _names("0001") == set()


def test_phone_lookup_uses_the_reversed_digits_index_on_sqlite(people, backend):
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    statement = orders._lookup_statement("phone", (), False, "sqlite")
    plan = _plan(str(statement.compile(dialect=db.engine.dialect)))
    assert "ix_patient_phone_reversed (phone_reversed>? AND phone_reversed<?)" in plan
    assert "SCAN" not in plan, plan
