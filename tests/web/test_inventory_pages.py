"""Inventory and balance pages: who may do what, what the forms write, and what the pages show."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Balance, Ingredient, IngredientLot, LotAdjustment, User
from pharmacy.services import inventory as inv
from tests.support import form_error

TODAY = date.today()


def _user(s, name):
    return s.scalar(select(User).where(User.username == name))


def make_ingredient(app, **over) -> int:
    data = dict(
        name="Naltrexone hydrochloride USP",
        kind="api",
        unit="mg",
        salt_form="hydrochloride",
        molecular_weight="377.86",
        base_molecular_weight="341.40",
        reorder_point="5000",
    )
    data.update(over)
    with app.app_context(), unit_of_work() as s:
        return inv.create_ingredient(s, _user(s, "pharmacist"), inv.IngredientData(**data)).id


def make_lot(app, ingredient_id, status="quarantined", **over) -> int:
    data = dict(
        ingredient_id=ingredient_id,
        lot_number="NTX-1",
        supplier="PCCA",
        manufacturer="SpecGx",
        expiry=(TODAY + timedelta(days=400)).isoformat(),
        quantity="25",
        unit="g",
        assay_percent="99.6",
        assay_basis="as_is",
    )
    data.update(over)
    with app.app_context(), unit_of_work() as s:
        lot = inv.receive_lot(s, _user(s, "technician"), inv.LotReceipt(**data))
        if status != "quarantined":
            inv.set_lot_status(s, _user(s, "pharmacist"), lot, status, "test")
        return lot.id


def receipt_form(ingredient_id, **over) -> dict:
    data = {
        "ingredient_id": str(ingredient_id),
        "lot_number": "NTX-77",
        "supplier": "Medisca",
        "manufacturer": "Mallinckrodt",
        "expiry": "2099-03",
        "quantity": "10",
        "unit": "g",
        "assay_percent": "99.1",
        "assay_basis": "anhydrous",
        "water_percent": "1.2",
    }
    data.update(over)
    return data


def rows(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_technician_receives_a_lot_into_quarantine(app, as_role):
    ing = make_ingredient(app)
    tech = as_role("technician")
    assert tech.get(f"/inventory/lots/new?ingredient_id={ing}").status_code == 200
    resp = tech.post("/inventory/lots/new", data=receipt_form(ing))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        lot = db.session.scalar(select(IngredientLot))
        assert (lot.lot_number, lot.status) == ("NTX-77", "quarantined")
        assert (lot.quantity_received, lot.unit) == (D("10000"), "mg")
        assert lot.expires_on == date(2099, 3, 31) and lot.expiry_month_only
        lot_id = lot.id
    assert resp.headers["Location"].endswith(f"/inventory/lots/{lot_id}")
    page = tech.get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    assert 'data-lot-status="quarantined"' in page and "10,000 mg" in page
    assert "Pharmacist decision" not in page  # technicians do not see the release form


def test_bad_receipt_shows_errors_by_field_and_writes_nothing(app, as_role):
    ing = make_ingredient(app)
    tech = as_role("technician")
    resp = tech.post(
        "/inventory/lots/new",
        data=receipt_form(ing, assay_percent="120", water_percent="", expiry="soon"),
    )
    assert resp.status_code == 422
    assert "at most 110" in form_error(resp, "assay_percent")
    assert "required for an anhydrous assay" in form_error(resp, "water_percent")
    assert "is not an expiry date" in form_error(resp, "expiry")
    assert rows(app, IngredientLot) == 0


def test_only_a_pharmacist_releases_and_rejection_needs_a_reason(app, as_role):
    ing = make_ingredient(app)
    lot_id = make_lot(app, ing)
    url = f"/inventory/lots/{lot_id}/decision"
    tech = as_role("technician")
    assert tech.post(url, data={"decision-target": "released"}).status_code == 403

    pharm = as_role("pharmacist")
    resp = pharm.post(url, data={"decision-target": "rejected", "decision-reason": ""})
    assert resp.status_code == 422
    assert "needs a written reason" in form_error(resp, "decision-reason")
    resp = pharm.post(url, data={"decision-target": "released", "decision-reason": "CoA ok"})
    assert resp.status_code == 302
    with app.app_context():
        lot = db.session.get(IngredientLot, lot_id)
        assert lot.status == "released" and lot.status_reason == "CoA ok"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lot.released"))
        assert event.actor == "pharmacist" and event.old["status"] == "quarantined"
    page = pharm.get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    assert 'data-testid="usable"' in page
    # A released lot cannot be released again: the choice is not offered and is refused.
    resp = pharm.post(url, data={"decision-target": "released"})
    assert resp.status_code == 422


def test_inventory_page_shows_stock_expiring_lots_and_low_ingredients(app, as_role):
    ing = make_ingredient(app)  # reorder point 5000 mg
    make_lot(
        app,
        ing,
        "released",
        lot_number="SOON",
        quantity="3000",
        unit="mg",
        expiry=(TODAY + timedelta(days=30)).isoformat(),
    )
    make_lot(
        app,
        ing,
        lot_number="LATER",
        quantity="1",
        unit="g",
        expiry=(TODAY + timedelta(days=90)).isoformat(),
    )
    client = as_role("technician")
    html = client.get("/inventory/").get_data(as_text=True)
    stock = html.split('data-testid="stock"')[1]
    assert re.search(r'data-lot="SOON".*?3,000 mg', stock, re.S)
    assert re.search(r'data-lot="LATER".*?1,000 mg', stock, re.S)
    expiring = html.split('data-testid="expiring"')[1].split("</table>")[0]
    assert "SOON" in expiring and "LATER" not in expiring
    reorder = html.split('data-testid="reorder"')[1].split("</table>")[0]
    assert "Naltrexone hydrochloride USP" in reorder and "3,000 mg" in reorder
    wide = client.get("/inventory/?days=120").get_data(as_text=True)
    assert "LATER" in wide.split('data-testid="expiring"')[1].split("</table>")[0]
    assert client.get("/inventory/?days=0").status_code == 400
    assert client.get("/inventory/?status=lost").status_code == 400


def test_inventory_lists_are_paged(app, as_role):
    ing = make_ingredient(app)
    with app.app_context(), unit_of_work() as s:
        tech = _user(s, "technician")
        for i in range(51):
            s.add(
                IngredientLot(
                    ingredient_id=ing,
                    lot_number=f"L{i:03d}",
                    supplier="S",
                    manufacturer="M",
                    expires_on=TODAY + timedelta(days=400 + i),
                    quantity_received=D("1"),
                    unit="mg",
                    received_on=TODAY,
                    received_by_id=tech.id,
                )
            )
    client = as_role("pharmacist")
    first = client.get("/inventory/").get_data(as_text=True)
    assert first.count("data-lot=") == 50 and "page=2" in first
    second = client.get("/inventory/?page=2").get_data(as_text=True)
    assert second.count("data-lot=") == 1 and 'data-lot="L050"' in second


def test_adjustment_form_records_a_signed_movement(app, as_role):
    ing = make_ingredient(app)
    lot_id = make_lot(app, ing, "released", quantity="100", unit="mg")
    tech = as_role("technician")
    url = f"/inventory/lots/{lot_id}/adjust"
    resp = tech.post(
        url,
        data={
            "adjust-kind": "spillage",
            "adjust-quantity": "2.5",
            "adjust-unit": "mg",
            "adjust-reason": "",
        },
    )
    assert resp.status_code == 422 and rows(app, LotAdjustment) == 0
    resp = tech.post(
        url,
        data={
            "adjust-kind": "spillage",
            "adjust-quantity": "2.5",
            "adjust-unit": "mg",
            "adjust-reason": "knocked over",
        },
    )
    assert resp.status_code == 302
    page = tech.get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    on_hand = page.split('data-testid="on-hand"')[1][:60]
    assert "97.5 mg" in on_hand


def test_ingredients_are_kept_by_pharmacists(app, as_role):
    form = {
        "name": "Microcrystalline cellulose",
        "kind": "filler",
        "unit": "mg",
        "tapped_density_mg_per_ml": "400",
        "reorder_point": "500000",
        "active": "y",
    }
    assert as_role("technician").post("/inventory/ingredients/new", data=form).status_code == 403
    pharm = as_role("pharmacist")
    resp = pharm.post("/inventory/ingredients/new", data={**form, "kind": "capsule_shell"})
    assert resp.status_code == 422
    assert "counted in each or capsule" in form_error(resp, "unit")
    assert "required for capsule shells" in form_error(resp, "capsule_size")
    assert pharm.post("/inventory/ingredients/new", data=form).status_code == 302
    with app.app_context():
        ing = db.session.scalar(select(Ingredient))
        assert ing.tapped_density_mg_per_ml == D("400")
    edit = pharm.get(f"/inventory/ingredients/{ing.id}/edit").get_data(as_text=True)
    assert 'value="400"' in edit
    resp = pharm.post(
        f"/inventory/ingredients/{ing.id}/edit", data={**form, "reorder_point": "250000"}
    )
    assert resp.status_code == 302
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "ingredient.update")
        )
        assert (event.old, event.new) == ({"reorder_point": "500000"}, {"reorder_point": "250000"})
    listing = as_role("technician").get("/inventory/ingredients").get_data(as_text=True)
    assert "Microcrystalline cellulose" in listing and "New ingredient" not in listing


def test_balances_are_kept_by_pharmacists_and_admins(app, as_role):
    form = {
        "name": "BAL-01",
        "readability_mg": "0.01",
        "mwq_mg": "120",
        "calibration_due": (TODAY + timedelta(days=90)).isoformat(),
        "active": "y",
    }
    assert as_role("technician").post("/equipment/balances/new", data=form).status_code == 403
    admin = as_role("admin")
    bad = admin.post(
        "/equipment/balances/new", data={**form, "mwq_mg": "0.001", "calibration_due": "next May"}
    )
    assert bad.status_code == 422
    assert "below the readability of the balance" in form_error(bad, "mwq_mg")
    assert "is not a date" in form_error(bad, "calibration_due")
    assert admin.post("/equipment/balances/new", data=form).status_code == 302
    with app.app_context():
        bal = db.session.scalar(select(Balance))
        assert (bal.readability_mg, bal.mwq_mg) == (D("0.01"), D("120"))
    pharm = as_role("pharmacist")
    overdue = {**form, "calibration_due": (TODAY - timedelta(days=1)).isoformat()}
    assert pharm.post(f"/equipment/balances/{bal.id}", data=overdue).status_code == 302
    page = as_role("technician").get("/equipment/balances").get_data(as_text=True)
    assert "was due for calibration" in page
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "balance.update"))
        assert set(event.new) == {"calibration_due"} and event.actor == "pharmacist"


def test_navigation_shows_inventory_to_the_bench_and_balances_to_admins(app, as_role):
    def nav(role):
        return as_role(role).get("/").get_data(as_text=True)

    for role in ("pharmacist", "technician"):
        html = nav(role)
        assert 'data-nav="inventory.overview"' in html and 'data-nav="equipment.balances"' in html
    assert 'data-nav="inventory.overview"' not in nav("staff")
    admin = nav("admin")
    assert 'data-nav="equipment.balances"' in admin and 'data-nav="inventory.overview"' not in admin
