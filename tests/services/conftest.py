"""Service tests run inside an app context against both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Batch, Formula, User


@pytest.fixture
def ctx(app, pharmacy):
    """An app context with a session; yields {role: User}."""
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        yield users
        db.session.rollback()


def make_batch(session, user: User, number: str = "B-1") -> Batch:
    """A minimal formula and batch, only so usage rows have something to belong to."""
    formula = session.scalar(select(Formula).where(Formula.code == "TST"))
    if formula is None:
        formula = Formula(
            code="TST",
            version=1,
            name="Test capsules",
            dosage_form="capsule",
            strength_min_mg=D("0.5"),
            strength_max_mg=D("4.5"),
            overage_percent=D("0"),
            bud_category="other_nonaqueous",
            storage="room temperature",
            container="vial",
            method="mix",
            weight_tolerance_percent=D("10"),
            status="approved",
            created_by_id=user.id,
        )
        session.add(formula)
        session.flush()
    batch = Batch(
        batch_number=number,
        formula_id=formula.id,
        strength_mg=D("4.5"),
        strength_basis="hcl",
        units_planned=100,
        unit="capsule",
        compounded_on=date(2026, 1, 5),
        beyond_use_date=date(2026, 7, 5),
        bud_limited_by="test",
        calculation={},
        compounded_by_id=user.id,
    )
    session.add(batch)
    session.flush()
    return batch
