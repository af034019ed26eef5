"""Browser: the demo's titration order (Ellis) is started in one batch per step strength from
its order page; the start form comes pre-filled with the strength and the units still needed."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.demo import DEMO_PASSWORD
from pharmacy.extensions import db
from pharmacy.models import Batch, Order, Patient, Prescription

pytestmark = pytest.mark.e2e


def test_a_step_batch_is_started_from_the_titration_orders_page(page, live_server, app):
    assert app.test_cli_runner().invoke(args=["demo-data"]).exit_code == 0
    with app.app_context():
        order_id = db.session.scalar(
            select(Order.id)
            .join(Prescription, Prescription.id == Order.prescription_id)
            .join(Patient, Patient.id == Prescription.patient_id)
            .where(Patient.last_name == "Ellis")
        )
    page.goto(f"{live_server}/login")
    page.fill("#username", "technician")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/orders/{order_id}")
    assert page.locator("[data-testid=order-status]").inner_text() == "verified"
    for mg, n in (("1.5", 14), ("3", 14), ("4.5", 32)):
        link = page.locator(f"[data-testid='start-batch-{mg}']")
        assert link.inner_text() == f"Start a {mg} mg batch ({n} capsule)"
    page.click("[data-testid='start-batch-1.5']")
    assert page.input_value("#strength_mg") == "1.5"
    assert page.input_value("#quantity") == "14"
    assert page.is_checked(f"input[name=order_ids][value='{order_id}']")
    page.click("button:has-text('Start batch')")
    page.wait_for_url("**/batches/*")
    with app.app_context():
        batch = db.session.scalars(select(Batch)).one()
        assert (batch.strength_mg, batch.units_planned) == (D("1.5"), 14)
        assert [o.id for o in batch.orders] == [order_id]
        assert db.session.get(Order, order_id).status == "in_compounding"
    page.goto(f"{live_server}/orders/{order_id}")
    assert page.locator("[data-testid=order-status]").inner_text() == "in compounding"
    assert page.locator("[data-testid='start-batch-3']").is_visible()
