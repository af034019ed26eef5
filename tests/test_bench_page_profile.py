"""bench.page_profile: a page's time per request, its statements and their time."""

from __future__ import annotations

import pytest

from bench.page_profile import _signed_in_cookie, measure
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
