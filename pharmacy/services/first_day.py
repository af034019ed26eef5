"""The first day: what is still missing before the first batch can be made, in order.

Shown on the dashboard after set-up until every step is done (or a batch exists), each step
linking to the page that does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..models import Balance, Batch, Formula, Ingredient, IngredientLot


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    endpoint: str
    hint: str


def _any(session: Session, stmt) -> bool:
    return bool(session.scalar(select(exists(stmt))))


def checklist(session: Session, today: date) -> list[Step] | None:
    """The steps, or None once the pharmacy has made a batch (the list has done its job)."""
    if _any(session, select(Batch.id)):
        return None
    api = select(Ingredient.id).where(Ingredient.kind == "api", Ingredient.active.is_(True))
    api_lots = select(IngredientLot.id).where(IngredientLot.ingredient_id.in_(api))
    steps = [
        Step(
            "ingredient",
            "Add the naltrexone ingredient",
            _any(session, api),
            "inventory.new_ingredient",
            "Naltrexone HCl with its molecular weight.",
        ),
        Step(
            "lot",
            "Receive a lot of it",
            _any(session, api_lots),
            "inventory.receive_lot",
            "Lot number, expiry and the certificate's assay.",
        ),
        Step(
            "release",
            "Release the lot from quarantine",
            _any(
                session,
                api_lots.where(
                    IngredientLot.status == "released", IngredientLot.expires_on >= today
                ),
            ),
            "inventory.overview",
            "A pharmacist checks the certificate and releases it.",
        ),
        Step(
            "balance",
            "Register a calibrated balance",
            _any(
                session,
                select(Balance.id).where(
                    Balance.active.is_(True), Balance.calibration_due >= today
                ),
            ),
            "equipment.new_balance",
            "Readability, minimum weighable quantity, calibration date.",
        ),
        Step(
            "formula",
            "Write a master formula",
            _any(session, select(Formula.id)),
            "formulas.new",
            "Capsules or oral liquid, filler, BUD category.",
        ),
        Step(
            "approve",
            "Approve the formula",
            _any(session, select(Formula.id).where(Formula.status == "approved")),
            "formulas.index",
            "A pharmacist approves it; batches use approved formulas only.",
        ),
    ]
    return steps if not all(s.done for s in steps) else None
