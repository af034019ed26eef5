"""The first-day checklist follows what is really in the database."""

from datetime import date, timedelta
from decimal import Decimal as D

from pharmacy.database import unit_of_work
from pharmacy.demo import load_demo
from pharmacy.extensions import db
from pharmacy.models import Ingredient, IngredientLot
from pharmacy.services.first_day import checklist
from tests.support import FAST_HASHER

TODAY = date.today()


def _done(app):
    with app.app_context():
        steps = checklist(db.session, TODAY)
        return None if steps is None else [s.key for s in steps if s.done]


def test_steps_tick_off_in_order(app, pharmacy):
    assert _done(app) == []
    with app.app_context(), unit_of_work() as s:
        api = Ingredient(name="Naltrexone HCl", kind="api", unit="mg")
        s.add(api)
        s.flush()
        s.add(
            IngredientLot(
                ingredient_id=api.id,
                lot_number="L1",
                supplier="S",
                manufacturer="M",
                expires_on=TODAY + timedelta(days=300),
                quantity_received=D(1000),
                unit="mg",
                status="quarantined",
                received_on=TODAY,
                received_by_id=pharmacy["pharmacist"],
            )
        )
    assert _done(app) == ["ingredient", "lot"]  # not released yet


def test_a_ready_pharmacy_has_no_checklist(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        load_demo(s, FAST_HASHER)
    assert _done(app) is None
