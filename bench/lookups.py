"""Order look-ups through the service layer, each against the bare SQL for the same rows."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sqlalchemy import select, text

from pharmacy.extensions import db
from pharmacy.models import Patient, Prescription
from pharmacy.services import orders

from .report import ms, percentile

BARE = {
    "rx": """SELECT o.id, o.status, o.fill_number, p.rx_number, pt.first_name, pt.last_name
             FROM rx_order o JOIN prescription p ON p.id = o.prescription_id
             JOIN patient pt ON pt.id = p.patient_id
             WHERE p.rx_number = :q ORDER BY o.id DESC LIMIT 51""",
    "name": """SELECT o.id, o.status, o.fill_number, p.rx_number, pt.first_name, pt.last_name
               FROM rx_order o JOIN prescription p ON p.id = o.prescription_id
               JOIN patient pt ON pt.id = p.patient_id
               WHERE pt.name_key >= :lo AND pt.name_key < :hi ORDER BY o.id DESC LIMIT 51""",
    "dob": """SELECT o.id, o.status, o.fill_number, p.rx_number, pt.first_name, pt.last_name
              FROM rx_order o JOIN prescription p ON p.id = o.prescription_id
              JOIN patient pt ON pt.id = p.patient_id
              WHERE pt.date_of_birth = :q ORDER BY o.id DESC LIMIT 51""",
}


def _time_one(fn: Callable[[object], object], q) -> float:
    start = time.perf_counter()
    fn(q)
    elapsed = time.perf_counter() - start
    db.session.rollback()  # each look-up is its own request-sized transaction
    return elapsed


def samples(seed: int = 1, n: int = 200) -> dict[str, list]:
    rng = random.Random(seed)
    max_rx = db.session.scalar(select(Prescription.id).order_by(Prescription.id.desc()).limit(1))
    max_pt = db.session.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1))
    rx_ids = [rng.randint(1, max_rx) for _ in range(n)]
    pt_ids = [rng.randint(1, max_pt) for _ in range(n)]
    rx_numbers = list(
        db.session.scalars(select(Prescription.rx_number).where(Prescription.id.in_(rx_ids)))
    )
    patients = db.session.execute(
        select(Patient.name_key, Patient.date_of_birth).where(Patient.id.in_(pt_ids))
    ).all()
    db.session.rollback()
    # A typed prefix: the last name and the first two letters of the first name.
    names = [k[: k.index(" ") + 3] if " " in k else k for k, _d in patients]
    return {"rx": rx_numbers, "name": names, "dob": [d for _k, d in patients]}


def run(report, n: int = 200) -> None:
    data = samples(n=n)
    conn_exec = db.session.connection
    for key, label in (
        ("rx", "Rx number"),
        ("name", "patient-name prefix"),
        ("dob", "date of birth"),
    ):
        values = data[key]

        def service(q, key=key):
            return orders.lookup(db.session, q.isoformat() if key == "dob" else q)

        def bare(q, key=key):
            params = {"lo": q, "hi": q[:-1] + chr(ord(q[-1]) + 1)} if key == "name" else {"q": q}
            return conn_exec().execute(text(BARE[key]), params).all()

        for q in values[:20]:  # warm caches and compiled statements
            _time_one(service, q)
            _time_one(bare, q)
        # Both run on the same value back to back, taking turns at going first: whichever runs
        # first on a value reads its pages from disk and leaves them cached for the other.
        s, b = [], []
        for i, q in enumerate(values):
            turns = ((s, service), (b, bare)) if i % 2 == 0 else ((b, bare), (s, service))
            for out, fn in turns:
                out.append(_time_one(fn, q))
        s50, s95, b50, b95 = (
            percentile(s, 50),
            percentile(s, 95),
            percentile(b, 50),
            percentile(b, 95),
        )
        report.add(
            f"look-up by {label}: median / p95",
            f"{ms(s50)} / {ms(s95)}",
            f"bare SQL {ms(b50)} / {ms(b95)}",
            f"{s95 / b95:.2f}x",
            "p95 < 20 ms, <= 2x",
            ok=s95 < 0.020 and s95 <= 2 * b95,
        )
