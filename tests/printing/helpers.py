"""Orders filled from released batches, ready to print, for the printing tests."""

from __future__ import annotations

from decimal import Decimal as D

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Order, TitrationStep
from tests.batch_helpers import latest_batch, make_order, passing_weights, start_form, weights_data


def released_batch(app, as_role, ids, strength="4.5", quantity="100", order_ids=()) -> int:
    tech = as_role("technician")
    form = start_form(ids, strength_mg=strength, quantity=quantity)
    if order_ids:
        form["order_ids"] = list(order_ids)
    resp = tech.post("/batches/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    assert tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": quantity,
    }
    assert tech.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302
    return bid


def final_check(as_role, order_id: int) -> None:
    """The pharmacist's final check through the page (ready -> checked)."""
    resp = as_role("pharmacist").post(f"/orders/{order_id}/final-check", data={})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def filled_order(
    app, as_role, ids, quantity=30, strength="4.5", steps=(), check=True, dose=None
) -> tuple[int, int]:
    """An order fully dispensed from a released batch and, with `check`, past the pharmacist's
    final check (so its label may print); returns (order id, batch id)."""
    oid = make_order(app, strength=strength, quantity=quantity, dose=dose)
    if steps:
        with app.app_context(), unit_of_work() as s:
            rx = s.get(Order, oid).prescription
            for i, (mg, days) in enumerate(steps):
                s.add(
                    TitrationStep(
                        prescription_id=rx.id, position=i + 1, strength_mg=D(mg), days=days
                    )
                )
    bid = released_batch(app, as_role, ids, strength=strength)
    resp = as_role("technician").post(
        f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": str(quantity)}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Order, oid).status == "ready"
    if check:
        final_check(as_role, oid)
    return oid, bid


def rx_number(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).prescription.rx_number


def set_directions(app, order_id: int, directions: str) -> None:
    with app.app_context(), unit_of_work() as s:
        s.get(Order, order_id).prescription.directions = directions


__all__ = ["D", "filled_order", "final_check", "released_batch", "rx_number", "set_directions"]
