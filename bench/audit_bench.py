"""The audit trail's filters (actor, entity, action, date) through the service, one page each."""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent
from pharmacy.services import audit

from .report import ms, percentile


def _filters() -> list[tuple[str, audit.TrailFilter]]:
    newest = db.session.scalar(select(func.max(AuditEvent.at)))
    actor = db.session.scalar(select(AuditEvent.actor).order_by(AuditEvent.id).limit(1))
    entity_id = db.session.scalar(
        select(AuditEvent.entity_id).where(AuditEvent.entity == "rx_order").limit(1)
    )
    day = newest - timedelta(days=400)
    db.session.rollback()
    return [
        ("actor", audit.TrailFilter(actor=actor)),
        ("entity", audit.TrailFilter(entity="rx_order")),
        ("entity + id", audit.TrailFilter(entity="rx_order", entity_id=entity_id)),
        ("action", audit.TrailFilter(action="order.status")),
        ("action prefix", audit.TrailFilter(action="order.")),
        (
            "one day",
            audit.TrailFilter(
                since=datetime.combine(day.date(), datetime.min.time()),
                until=datetime.combine(day.date(), datetime.max.time()),
            ),
        ),
        ("actor + one year", audit.TrailFilter(actor=actor, since=newest - timedelta(days=365))),
    ]


def run(report, repeats: int = 30, rounds: int = 3) -> None:
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    db.session.rollback()
    for label, f in _filters():
        p95s = []
        for _ in range(rounds):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                audit.trail(db.session, f)
                times.append(time.perf_counter() - start)
                db.session.rollback()
            p95s.append(percentile(times[3:], 95))
        p95 = statistics.median(p95s)
        report.add(
            f"audit trail filter: {label}, p95",
            ms(p95),
            f"{total:,} events",
            "",
            "< 50 ms",
            ok=p95 < 0.05,
        )
