"""The order page's load (services/order_page): the same order, prescription, patient, fills
and titration steps as the relationships' own loads, in their order, with no lazy load left."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import event

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Order, TitrationStep, User
from pharmacy.services import prescriptions
from pharmacy.services.order_page import order_for_page
from tests.rx_helpers import make_patient, make_prescriber, rx_input


def test_order_page_load_equals_the_lazy_loads(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        actor = s.get(User, pharmacy["staff"])
        rx = prescriptions.enter_prescription(
            s, actor, rx_input(make_patient(s, actor).id, make_prescriber(s, actor).id)
        )
        first = rx.orders[0]
        # Out of order on purpose: the page lists fills by number and steps by position.
        for n in (3, 2):
            s.add(
                Order(
                    prescription_id=rx.id,
                    fill_number=n,
                    status="cancelled",
                    quantity=D("30"),
                    quantity_unit=first.quantity_unit,
                    created_by_id=actor.id,
                )
            )
        for position in (2, 1):
            s.add(TitrationStep(prescription_id=rx.id, position=position, strength_mg=D(position)))
        order_id = first.id
    with app.app_context():
        lazy = db.session.get(Order, order_id)
        expected = (
            lazy.prescription.id,
            lazy.prescription.patient.last_name,
            [(o.id, o.fill_number) for o in lazy.prescription.orders],
            [(t.id, t.position) for t in lazy.prescription.titration_steps],
        )
        db.session.rollback()
        db.session.expunge_all()
        order = order_for_page(db.session, order_id)
        statements = []

        def grab(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            rx = order.prescription
            got = (
                rx.id,
                rx.patient.last_name,
                [(o.id, o.fill_number) for o in rx.orders],
                [(t.id, t.position) for t in rx.titration_steps],
            )
            assert all(o.prescription is rx for o in rx.orders)
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        assert got == expected
        assert [n for _id, n in got[2]] == [1, 2, 3] and [p for _id, p in got[3]] == [1, 2]
        assert statements == []  # everything the page reads of these is loaded
        assert order in rx.orders and not db.session.dirty
        assert order_for_page(db.session, 2**31 - 1) is None
