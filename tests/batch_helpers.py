"""Helpers for the batch tests: a demo formulary, a second pharmacist, verified orders."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.demo import load_demo
from pharmacy.domain.training import TASKS
from pharmacy.extensions import db
from pharmacy.models import (
    Balance,
    Batch,
    Formula,
    IngredientLot,
    Order,
    Patient,
    Prescriber,
    Prescription,
    User,
)
from pharmacy.services import accounts, training
from tests.support import FAST_HASHER, PASSWORD

TODAY = date.today()
_rx = itertools.count(1)


def seed(app) -> dict:
    """Demo formulary plus a second pharmacist ("checker") who signs in with PASSWORD."""
    with app.app_context(), unit_of_work() as s:
        load_demo(s, FAST_HASHER)
        if s.scalar(select(User).where(User.username == "checker")) is None:
            checker = accounts.create_user(
                s,
                "test",
                accounts.NewUser("checker", "Chris Checker", "CC", PASSWORD, ("pharmacist",)),
                FAST_HASHER,
            )
            training.record_initial(s, "test", checker, TASKS, TODAY - timedelta(days=30))
    with app.app_context():
        s = db.session
        lots = {lot.lot_number: lot.id for lot in s.scalars(select(IngredientLot))}
        return {
            "cap": s.scalar(select(Formula.id).where(Formula.code == "LDN-CAP")),
            "sol": s.scalar(select(Formula.id).where(Formula.code == "LDN-SOL")),
            "balance": s.scalar(select(Balance.id)),
            "lots": lots,
        }


def make_order(
    app,
    strength="4.5",
    quantity=100,
    status="verified",
    form="capsule",
    basis="hcl",
    doses_per_day=1,
    dose=None,
):
    """An order for `strength` (mg per capsule, or mg/mL) and a dose of `dose` mg (default: one
    capsule, or 1 mL)."""
    unit = "capsule" if form == "capsule" else "mL"
    with app.app_context(), unit_of_work() as s:
        patient = s.scalar(select(Patient).order_by(Patient.id).limit(1))
        prescriber = s.scalar(select(Prescriber).order_by(Prescriber.id).limit(1))
        user = s.scalar(select(User).where(User.username == "pharmacist"))
        rx = Prescription(
            rx_number=f"T{next(_rx):06d}",
            patient_id=patient.id,
            prescriber_id=prescriber.id,
            date_written=TODAY - timedelta(days=2),
            expires_on=TODAY + timedelta(days=300),
            dosage_form=form,
            strength_mg=D(strength),
            dose_mg=D(dose or strength),
            strength_basis=basis,
            quantity=D(quantity),
            quantity_unit=unit,
            doses_per_day=doses_per_day,
            directions="Take one at bedtime.",
            refills_authorized=0,
            status="verified",
            created_by_id=user.id,
            verified_by_id=user.id,
        )
        s.add(rx)
        s.flush()
        order = Order(
            prescription_id=rx.id,
            fill_number=1,
            status=status,
            quantity=D(quantity),
            quantity_unit=unit,
            created_by_id=user.id,
        )
        s.add(order)
        s.flush()
        return order.id


def start_form(ids, **over) -> dict:
    data = {
        "formula_id": ids["cap"],
        "balance_id": ids["balance"],
        "strength_mg": "4.5",
        "strength_basis": "hcl",
        "quantity": "100",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def latest_batch(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Batch.id).order_by(Batch.id.desc()).limit(1))


def weights_data(app, batch_id: int, scale: D = D(1), reasons: dict | None = None) -> dict:
    """Actual quantities equal to the plan (times `scale`), on the batch's balance."""
    with app.app_context():
        batch = db.session.get(Batch, batch_id)
        data = {}
        for u in batch.lot_usages:
            actual = (u.planned_quantity * scale).quantize(D("0.01"))
            data[f"actual_{u.id}"] = str(actual)
            if u.unit in ("mg", "g"):
                data[f"balance_{u.id}"] = str(batch.balance_id)
            data[f"reason_{u.id}"] = (reasons or {}).get(u.role, "")
        return data


def passing_weights(n: int = 10, gross: str = "296") -> str:
    return "\n".join([gross] * n)
