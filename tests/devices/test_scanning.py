"""Container scans: GTIN on the ingredient, the receipt form filled by a scan, the pharmacy's
own lot label (read back from the PDF), and the wrong container refused at weighing."""

import io
from datetime import date
from decimal import Decimal as D

import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, BatchLotUsage, Ingredient, IngredientLot, LabelPrint
from tests.batch_helpers import latest_batch, seed, start_form, weights_data
from tests.support import form_error

GTIN = "00300123456785"  # the demo naltrexone's
OTHER = "00300999999997"


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _ingredient(app, name_start: str) -> Ingredient:
    with app.app_context():
        return db.session.scalar(select(Ingredient).where(Ingredient.name.startswith(name_start)))


def test_gtin_is_kept_on_the_ingredient_checked_and_unique(app, as_role, ids):
    ph = as_role("pharmacist")
    mcc = _ingredient(app, "Microcrystalline")
    form = {"name": mcc.name, "kind": "filler", "unit": "mg", "active": "y"}
    resp = ph.post(f"/inventory/ingredients/{mcc.id}/edit", data={**form, "gtin": "12345"})
    assert resp.status_code == 422
    assert form_error(resp, "gtin") == "a GTIN is 8, 12, 13 or 14 digits"
    resp = ph.post(f"/inventory/ingredients/{mcc.id}/edit", data={**form, "gtin": GTIN})
    assert form_error(resp, "gtin") == f"GTIN {GTIN} is already on Naltrexone hydrochloride USP"
    resp = ph.post(f"/inventory/ingredients/{mcc.id}/edit", data={**form, "gtin": "0300999999997"})
    assert resp.status_code == 302
    assert _ingredient(app, "Microcrystalline").gtin == OTHER
    page = ph.get(f"/inventory/ingredients/{mcc.id}").get_data(as_text=True)
    assert OTHER in page


@pytest.mark.parametrize(
    "scan",
    [f"]d201{GTIN}10NTX-9\x1d17280100", f"(01){GTIN}(10)NTX-9(17)280100"],
    ids=["raw-gs", "bracketed"],
)
def test_a_scan_fills_the_receipt_form(app, as_role, ids, scan):
    tech = as_role("technician")
    resp = tech.get("/inventory/lots/new", query_string={"scan": scan})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    nal = _ingredient(app, "Naltrexone")
    assert f'<option selected value="{nal.id}">' in html
    assert 'value="NTX-9"' in html and 'value="2028-01"' in html
    assert "Scanned Naltrexone hydrochloride USP, lot NTX-9, expiry 2028-01" in html


def test_an_unknown_gtin_at_receipt_says_what_to_do(app, as_role, ids):
    resp = as_role("technician").get(
        "/inventory/lots/new", query_string={"scan": f"(01){OTHER}(10)X1"}
    )
    assert resp.status_code == 422
    assert f"no ingredient has GTIN {OTHER}: add it to the ingredient" in resp.get_data(
        as_text=True
    )


def test_pharmacy_lot_label_carries_a_barcode_that_scans_back(app, as_role, ids):
    mcc = _ingredient(app, "Microcrystalline")  # no GTIN: the label names it internally
    with app.app_context():
        lot = db.session.scalar(select(IngredientLot).where(IngredientLot.ingredient_id == mcc.id))
        lot_id, lot_number, expires = lot.id, lot.lot_number, lot.expires_on
    tech = as_role("technician")
    resp = tech.post(f"/print/lots/{lot_id}/label", data={"copies": "2"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    page = pypdfium2.PdfDocument(io.BytesIO(resp.data))[0]
    image = page.render(scale=300 / 72).to_pil()
    codes = {c.text for c in zxingcpp.read_barcodes(image)}
    payload = f"(91)ING{mcc.id}(10){lot_number}(17){expires:%y%m%d}"
    assert payload in codes
    with app.app_context():
        log = db.session.scalar(select(LabelPrint).where(LabelPrint.document == "lot_label"))
        assert (log.entity, log.entity_id, log.copies) == ("ingredient_lot", str(lot_id), 2)
    # The scanned label fills the receipt form like a supplier's barcode.
    html = tech.get("/inventory/lots/new", query_string={"scan": payload}).get_data(as_text=True)
    assert f'value="{lot_number}"' in html and f'<option selected value="{mcc.id}">' in html


def _weighing_batch(app, as_role, ids):
    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    with app.app_context():
        api = db.session.scalar(
            select(BatchLotUsage).where(
                BatchLotUsage.batch_id == bid, BatchLotUsage.role == "active"
            )
        )
        return tech, bid, api.id, api.lot.lot_number


def test_the_wrong_container_is_refused_at_weighing(app, as_role, ids):
    tech, bid, uid, lot_number = _weighing_batch(app, as_role, ids)
    data = weights_data(app, bid)
    resp = tech.post(f"/batches/{bid}/weights", data={**data, f"scan_{uid}": f"01{GTIN}10NOPE"})
    assert resp.status_code == 422
    assert form_error(resp, f"scan_{uid}") == (
        f"wrong lot: the container is lot NOPE, this line uses lot {lot_number} "
        "— do not use this container"
    )
    with app.app_context():
        assert db.session.get(BatchLotUsage, uid).actual_quantity is None
    check = tech.post(f"/batches/{bid}/lines/{uid}/scan-check", data={"code": f"(01){OTHER}"})
    assert check.status_code == 422
    assert check.json["errors"][0]["message"].startswith(f"wrong ingredient: GTIN {OTHER}")
    right = f"]d201{GTIN}10{lot_number}\x1d17300101"
    ok = tech.post(f"/batches/{bid}/lines/{uid}/scan-check", data={"code": right})
    assert ok.status_code == 200 and ok.json["ok"]
    resp = tech.post(f"/batches/{bid}/weights", data={**data, f"scan_{uid}": right})
    assert resp.status_code == 302
    with app.app_context():
        usage = db.session.get(BatchLotUsage, uid)
        assert usage.container_scan == right.strip()
        assert usage.weight_source == "typed"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "batch.weights").limit(1)
        )
        assert event.new[str(uid)]["container_scan"] == right
    assert "scanned" in tech.get(f"/batches/{bid}").get_data(as_text=True)


def test_expiry_of_a_scanned_label_matches_the_lot(app, ids):
    from pharmacy.services.scanning import lot_label_data

    with app.app_context():
        lot = db.session.scalar(
            select(IngredientLot).join(Ingredient).where(Ingredient.gtin == GTIN).limit(1)
        )
        data = lot_label_data(lot)
        assert data.barcode.startswith(f"(01){GTIN}(10){lot.lot_number}(17)")
        assert data.gtin == GTIN
        assert isinstance(lot.expires_on, date) and D(1) == 1
