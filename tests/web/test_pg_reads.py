"""PostgreSQL: a web request's reads run in autocommit (no BEGIN/ROLLBACK round trips), and
anything else still runs in one transaction: a write outside a unit of work is rolled back at
the end of the request as before, a unit of work is atomic, a row lock holds."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text

from pharmacy.database import reads_deferred, unit_of_work
from pharmacy.extensions import db
from pharmacy.models import User


@pytest.fixture
def pg(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's autocommit reads")
    return app


def _dbapi():
    return db.session.connection().connection.driver_connection


def _name(app, user_id: int) -> str:
    with app.app_context():
        name = db.session.scalar(select(User.full_name).where(User.id == user_id))
        db.session.rollback()
        return name


def test_reads_open_no_transaction_and_a_write_outside_a_unit_of_work_is_rolled_back(pg, pharmacy):
    uid = pharmacy["staff"]
    with pg.test_request_context("/"):
        reads_deferred(True)
        try:
            conn = _dbapi()
            assert db.session.scalar(select(User.username).where(User.id == uid)) == "staff"
            assert conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE
            db.session.execute(
                text("UPDATE user_account SET full_name = 'X' WHERE id = :i"), {"i": uid}
            )
            assert not conn.autocommit
            assert conn.info.transaction_status == TransactionStatus.INTRANS
            db.session.rollback()  # the end of the request
        finally:
            reads_deferred(False)
            db.session.remove()
    assert _name(pg, uid) == "Staff User"


def test_a_unit_of_work_in_a_reading_request_is_atomic(pg, pharmacy):
    uid, other = pharmacy["staff"], pharmacy["technician"]
    with pg.test_request_context("/"):
        reads_deferred(True)
        try:
            db.session.scalar(select(User.username).where(User.id == uid))  # a reader first
            assert _dbapi().autocommit
            with pytest.raises(RuntimeError), unit_of_work() as s:
                s.get(User, uid).full_name = "Changed"
                s.flush()
                s.get(User, other).full_name = "Changed too"
                s.flush()
                raise RuntimeError("the use case fails after two writes")
        finally:
            reads_deferred(False)
            db.session.remove()
    assert _name(pg, uid) == "Staff User" and _name(pg, other) == "Technician User"


def test_the_connection_goes_back_to_the_pool_transactional(pg, pharmacy):
    with pg.test_request_context("/"):
        reads_deferred(True)
        try:
            first = _dbapi()
            db.session.scalar(select(User.id).limit(1))
            assert first.autocommit
        finally:
            reads_deferred(False)
            db.session.remove()
    with pg.app_context():
        again = _dbapi()
        assert not again.autocommit  # a CLI command or a test: a transaction as always
        db.session.rollback()


def test_a_streamed_read_runs_in_a_transaction(pg, pharmacy):
    with pg.test_request_context("/"):
        reads_deferred(True)
        try:
            conn = _dbapi()
            assert conn.autocommit
            rows = db.session.execute(
                select(User.username).order_by(User.id).execution_options(yield_per=2)
            )
            assert len(list(rows)) == len(pharmacy)  # DECLARE CURSOR needs a transaction
            assert not conn.autocommit
        finally:
            db.session.rollback()
            reads_deferred(False)
            db.session.remove()


def test_a_locking_select_starts_the_transaction_every_time(pg, pharmacy):
    """The statement's classification is cached by its text: the second run of the same
    locking select (its text from SQLAlchemy's compiled cache) must lock as the first did."""
    locking = select(User.id).where(User.id == pharmacy["staff"]).with_for_update()
    for _ in range(2):
        with pg.test_request_context("/"):
            reads_deferred(True)
            try:
                conn = _dbapi()
                db.session.execute(select(User.id).limit(1)).all()
                assert conn.autocommit
                db.session.execute(locking).all()
                assert not conn.autocommit
                assert conn.info.transaction_status == TransactionStatus.INTRANS
            finally:
                db.session.rollback()
                reads_deferred(False)
                db.session.remove()


@pytest.mark.parametrize(
    ("statement", "plain"),
    [
        ("SELECT user_account.id FROM user_account", True),
        ("  select 1", True),
        ("SELECT id FROM lot WHERE id = %(id)s FOR UPDATE", False),
        ("SELECT id FROM lot for no key update", False),
        ("SELECT id FROM lot FOR\n  SHARE", False),
        ("SELECT formula FROM formula", True),  # "FOR" inside a word is not a lock
        ("UPDATE lot SET on_hand = 1", False),
        ("SAVEPOINT sa_savepoint_1", False),
    ],
)
def test_plain_selects_are_told_from_locks_and_writes(statement, plain):
    from pharmacy.database import _plain_select

    assert _plain_select(statement) is plain
    assert _plain_select(statement) is plain  # from the cache
