"""The audit trail's filters: the right events, newest first, paged; each served by an index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from pharmacy.database import unit_of_work, utcnow
from pharmacy.extensions import db
from pharmacy.models import AuditEvent
from pharmacy.services import audit


@pytest.fixture
def events(ctx):
    with unit_of_work() as s:
        for i in range(7):
            audit.record(s, "ana", "order.status", "rx_order", i)
            audit.record(s, "ben", "order.create", "rx_order", i)
            audit.record(s, "ben", "orders.export", "report", i)
            audit.record(s, "ana", "lot.receive", "ingredient_lot", i)
    return ctx


def _actions(f: audit.TrailFilter, before=None, limit=50):
    rows, more = audit.trail(db.session, f, before, limit)
    return [(e.actor, e.action, e.entity_id) for e in rows], more


def test_filters_find_exactly_the_matching_events_newest_first(events):
    rows, _ = _actions(audit.TrailFilter(actor="ana", action="order.status"))
    assert rows == [("ana", "order.status", str(i)) for i in reversed(range(7))]
    rows, _ = _actions(audit.TrailFilter(action="order."))  # a prefix, not "orders."
    assert {a for _, a, _ in rows} == {"order.status", "order.create"} and len(rows) == 14
    rows, _ = _actions(audit.TrailFilter(action="order"))  # the bare word takes both
    merged, more = audit.trail(db.session, audit.TrailFilter(action="order"), None, 10)
    everything = db.session.scalars(
        select(AuditEvent.id)
        .where(AuditEvent.action.in_(["order.status", "order.create", "orders.export"]))
        .order_by(AuditEvent.id.desc())
    ).all()
    assert [e.id for e in merged] == everything[:10] and more  # one page per action, merged
    assert {a for _, a, _ in rows} == {"order.status", "order.create", "orders.export"}
    rows, _ = _actions(audit.TrailFilter(entity="rx_order", entity_id="3"))
    assert sorted(a for _, a, _ in rows) == ["order.create", "order.status"]
    rows, _ = _actions(audit.TrailFilter(action="order%"))  # no wildcards
    assert rows == []
    rows, _ = _actions(audit.TrailFilter(since=utcnow() + timedelta(days=1)))
    assert rows == []


def test_pages_follow_on_without_gaps(events):
    f = audit.TrailFilter(entity="rx_order")
    first, more = audit.trail(db.session, f, None, 5)
    assert more and len(first) == 5
    ids = [e.id for e in first]
    while more:
        page, more = audit.trail(db.session, f, ids[-1], 5)
        ids += [e.id for e in page]
    expected = db.session.scalars(
        select(AuditEvent.id).where(AuditEvent.entity == "rx_order").order_by(AuditEvent.id.desc())
    ).all()
    assert ids == list(expected) and len(ids) == 14


def test_each_filter_is_served_by_its_index_on_sqlite(events, backend):
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    for f, index in (
        (audit.TrailFilter(actor="ana"), "ix_audit_event_actor_id"),
        (audit.TrailFilter(action="order.status"), "ix_audit_event_action"),  # (action[, id])
        (audit.TrailFilter(entity="rx_order"), "ix_audit_event_entity_id_order"),
    ):
        captured = []

        def grab(conn, cursor, statement, params, context, many, captured=captured):
            captured.append((statement, params))

        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            audit.trail(db.session, f)
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        sql, params = captured[-1]
        plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        text = "\n".join(r[-1] for r in plan)
        assert index in text and "TEMP B-TREE" not in text, text
