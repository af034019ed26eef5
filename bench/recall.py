"""Recall trace from one API lot used by hundreds of batches to every patient who received it."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import BatchLotUsage
from pharmacy.services import batches

from .report import ms, percentile


def most_used_lot() -> tuple[int, int]:
    """The API lot used by the most batches, and how many."""
    lot_id, uses = db.session.execute(
        select(BatchLotUsage.lot_id, func.count())
        .where(BatchLotUsage.role == "active")
        .group_by(BatchLotUsage.lot_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    db.session.rollback()
    return lot_id, uses


def run(report, repeats: int = 20) -> int:
    """Times the trace service on the most used API lot; returns that lot's id."""
    lot_id, uses = most_used_lot()
    times, trace = [], None
    for _ in range(repeats + 3):
        start = time.perf_counter()
        trace = batches.trace_lot(db.session, lot_id)
        times.append(time.perf_counter() - start)
        db.session.rollback()
    times = times[3:]
    report.add(
        "recall trace service, one API lot: median / p95",
        f"{ms(percentile(times, 50))} / {ms(percentile(times, 95))}",
        f"{uses} batches, {trace.total_recipients:,} recipients, {len(trace.recipients)} a page",
        "",
        "< 100 ms",
        ok=percentile(times, 95) < 0.1,
    )
    return lot_id
