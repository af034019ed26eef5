"""Order look-ups through the service layer, each against the same query on the raw driver."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Patient, Prescription
from pharmacy.services import orders

from .report import ms, percentile

LABELS = {
    "rx": "Rx number",
    "name": "patient-name prefix",
    "dob": "date of birth",
    "phone": "phone (last 7 digits)",
}


def _time_one(fn: Callable[[object], object], q) -> float:
    start = time.perf_counter()
    fn(q)
    elapsed = time.perf_counter() - start
    db.session.rollback()  # each look-up is its own request-sized transaction
    return elapsed


def samples(seed: int = 1, n: int = 200) -> dict[str, list]:
    """Values a user would type, drawn from random prescriptions and patients."""
    rng = random.Random(seed)
    max_rx = db.session.scalar(select(Prescription.id).order_by(Prescription.id.desc()).limit(1))
    max_pt = db.session.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1))
    rx_ids = [rng.randint(1, max_rx) for _ in range(n)]
    pt_ids = [rng.randint(1, max_pt) for _ in range(n)]
    rx_numbers = list(
        db.session.scalars(select(Prescription.rx_number).where(Prescription.id.in_(rx_ids)))
    )
    patients = db.session.execute(
        select(Patient.name_key, Patient.date_of_birth, Patient.phone_digits).where(
            Patient.id.in_(pt_ids)
        )
    ).all()
    db.session.rollback()
    # A typed prefix: the last name and the first two letters of the first name.
    names = [k[: k.index(" ") + 3] if " " in k else k for k, _d, _p in patients]
    return {
        "rx": rx_numbers,
        "name": names,
        "dob": [d for _k, d, _p in patients],
        # The last seven digits, as read out on the phone ("555-0191" with the exchange).
        "phone": [p[-7:] for _k, _d, p in patients if len(p) >= 7],
    }


def _raw_queries(values: list[str]) -> dict[str, tuple[str, object]]:
    """For each value, the service's own statement compiled for this database, with its
    parameters as the driver takes them: the same SQL as the service runs."""
    dialect = db.engine.dialect
    compiled: dict = {}
    out = {}
    for q in values:
        stmt, params = orders.lookup_statement(q, dialect.name)
        if stmt not in compiled:
            compiled[stmt] = stmt.compile(dialect=dialect)
        c = compiled[stmt]
        bound = c.construct_params(params)
        if c.positiontup is not None:  # qmark (SQLite): positional, dates as ISO text
            bound = [_plain(bound[k]) for k in c.positiontup]
        out[q] = (c.string, bound)
    return out


def _raw(query: tuple[str, object]) -> list:
    """The statement on the DB-API cursor itself: no SQLAlchemy between query and rows."""
    cur = db.session.connection().connection.cursor()
    try:
        cur.execute(*query)
        return cur.fetchall()
    finally:
        cur.close()


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _round(values, service, bare) -> tuple[list[float], list[float]]:
    # Both run on the same value back to back, taking turns at going first: whichever runs
    # first on a value reads its pages from disk and leaves them cached for the other.
    s, b = [], []
    for i, q in enumerate(values):
        turns = ((s, service), (b, bare)) if i % 2 == 0 else ((b, bare), (s, service))
        for out, fn in turns:
            out.append(_time_one(fn, q))
    return s, b


def run(report, n: int = 200, rounds: int = 3) -> dict[str, list]:
    data = samples(n=n)
    for key, label in LABELS.items():
        values = [q.isoformat() if key == "dob" else q for q in data[key]]

        def service(q):
            return orders.lookup(db.session, q)

        prepared = _raw_queries(values)

        def bare(q, prepared=prepared):
            return _raw(prepared[q])

        _round(values[:20], service, bare)  # warm caches and compiled statements
        per_round = [_round(values, service, bare) for _ in range(rounds)]
        s50, s95, b50, b95 = (
            statistics.median(percentile(sb[i], p) for sb in per_round)
            for i, p in ((0, 50), (0, 95), (1, 50), (1, 95))
        )
        report.add(
            f"look-up by {label}: median / p95",
            f"{ms(s50)} / {ms(s95)}",
            f"raw driver {ms(b50)} / {ms(b95)}",
            f"{s95 / b95:.2f}x",
            "p95 < 20 ms, <= 2x",
            ok=s95 < 0.020 and s95 <= 2 * b95,
        )
    return data
