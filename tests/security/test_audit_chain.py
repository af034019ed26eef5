"""The tamper-evident audit trail: database triggers, the hash chain, `flask audit verify`,
and concurrent appends that never fork the chain (PostgreSQL, real parallel connections)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditChainHead, AuditEvent
from pharmacy.services import audit


def _write_events(app, n=3):
    for i in range(n):
        with app.app_context(), unit_of_work() as s:
            audit.record(
                s, "test", "thing.touch", "thing", i, {"v": i}, {"v": i + 1}, ip="10.0.0.1"
            )


def _verify(app):
    runner = app.test_cli_runner()
    return runner.invoke(args=["audit", "verify"])


def _tamper(app, sql: str):
    """Change the table behind the app's back, as someone with database access would."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
            conn.execute(text(sql))


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"],
)
def test_the_database_refuses_update_and_delete(app, pharmacy, sql):
    _write_events(app, 1)
    with app.app_context():
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(sql))
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0


def test_the_database_refuses_truncate_on_postgresql(app, pharmacy, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (an unqualified DELETE is refused above)")
    with (
        app.app_context(),
        pytest.raises(DatabaseError, match="append-only"),
        db.engine.begin() as conn,
    ):
        conn.execute(text("TRUNCATE audit_event CASCADE"))


def test_verify_passes_on_an_untouched_trail(app, pharmacy):
    _write_events(app)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "audit trail intact" in result.output
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert all(len(r.chain_hash) == 64 for r in rows)
        head = db.session.get(AuditChainHead, 1)
        assert (head.last_id, head.last_hash) == (rows[-1].id, rows[-1].chain_hash)


@pytest.mark.parametrize(
    "sql, expect",
    [
        (
            "UPDATE audit_event SET new = '{\"v\": 99}' WHERE action = 'thing.touch' AND entity_id = '1'",
            "was changed",
        ),
        (
            "DELETE FROM audit_event WHERE action = 'thing.touch' AND entity_id = '1'",
            "was changed, or one before",
        ),
        (
            "DELETE FROM audit_event WHERE action = 'thing.touch' AND entity_id = '2'",
            "rows at the end were removed",
        ),
    ],
)
def test_verify_finds_a_changed_or_removed_row(app, pharmacy, sql, expect):
    _write_events(app)
    _tamper(app, sql)
    result = _verify(app)
    assert result.exit_code == 1
    assert expect in result.output


def test_a_rolled_back_use_case_appends_nothing(app, pharmacy):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        with pytest.raises(RuntimeError), unit_of_work() as s:
            audit.record(s, "test", "thing.touch", "thing", 1)
            raise RuntimeError("fails mid-way")
        _write_events(app, 1)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    assert _verify(app).exit_code == 0


def test_parallel_appends_on_postgresql_never_fork_the_chain(app, pharmacy, backend):
    if backend != "postgresql":
        pytest.skip("real parallel connections need PostgreSQL (TEST_DATABASE_URL)")
    n = 20
    barrier = threading.Barrier(n)
    errors = []

    def work(i):
        with app.app_context():
            try:
                barrier.wait()
                for j in range(3):
                    with unit_of_work() as s:
                        audit.record(s, "test", "thing.parallel", "thing", f"{i}-{j}")
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "thing.parallel")
        )
        assert count == n * 3
    result = _verify(app)
    assert result.exit_code == 0, result.output
