"""bench.page_profile: a page's time per request, its statements and their time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from bench.page_profile import _Clock, _signed_in_cookie, measure, measure_pages
from pharmacy.extensions import db
from tests.support import PASSWORD


def test_a_page_is_timed_with_its_statements(app, pharmacy):
    cookie = _signed_in_cookie(app, "pharmacist", PASSWORD)
    with app.app_context():
        engine = db.engine
    cost = measure(app, engine, "/orders/queue", cookie, n=5, rounds=1)
    # the session row, the board's rows, and (every queue being empty, no row to carry them)
    # the counts on their own
    assert cost.statements == 3
    assert 0 < cost.sql_ms < cost.ms and cost.python_ms == pytest.approx(cost.ms - cost.sql_ms)


def test_a_page_that_does_not_answer_200_is_refused(app, pharmacy):
    cookie = _signed_in_cookie(app, "pharmacist", PASSWORD)
    with app.app_context():
        engine = db.engine
    with pytest.raises(RuntimeError, match="answered 404"):
        measure(app, engine, "/orders/999999", cookie, n=1, rounds=1)
    with pytest.raises(RuntimeError, match="answered 302"):
        measure(app, engine, "/orders/queue", "pharmacy_session=forged", n=1, rounds=1)


def test_the_request_is_split_into_sign_in_view_sql_and_rendering(app, pharmacy):
    cookie = _signed_in_cookie(app, "pharmacist", PASSWORD)
    with app.app_context():
        engine = db.engine
    board = measure(app, engine, "/orders/queue", cookie, n=5, rounds=1)
    assert board.user_ms > 0 and board.render_ms > 0 and board.view_sql_ms > 0
    assert board.user_ms + board.render_ms + board.view_sql_ms < board.ms
    assert board.other_ms == pytest.approx(
        board.ms - board.user_ms - board.render_ms - board.view_sql_ms
    )
    # The sign-in check's own statement is in its phase, not the view's.
    assert board.view_sql_ms < board.sql_ms


def test_a_statement_is_timed_to_its_last_fetch(app):
    """SQLite computes rows as they are fetched: the clock must not stop at execute."""
    with app.app_context():
        engine = db.engine
    # The first row comes at once; the second only after 300,000 steps of the recursion.
    slow = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
        "SELECT x FROM c WHERE x IN (1, 300000)"
    )
    with engine.connect() as conn, _Clock(app, engine) as clock:
        start = time.perf_counter()
        rows = conn.execute(slow).all()
        wall = time.perf_counter() - start
    assert [r.x for r in rows] == [1, 300000]
    assert clock.count == 1
    assert clock.sql > 0.8 * wall


def test_pages_are_measured_in_turn_against_the_first(app, pharmacy):
    cookie = _signed_in_cookie(app, "pharmacist", PASSWORD)
    with app.app_context():
        engine = db.engine
    empty, board = measure_pages(
        app, engine, ["/orders/?q=", "/orders/queue"], cookie, n=5, rounds=3
    )
    assert empty.x_first == 1.0
    assert board.x_first > 1.0  # the board reads and renders more than an empty look-up
    assert empty.statements == 1 and board.statements == 3
