"""What the label and the record say: formula notes, storage by BUD category, liquid QC,
method steps and bench lines, all read back from the PDFs the app prints."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Batch, IngredientLot
from tests.batch_helpers import latest_batch, make_order, seed, start_form, weights_data
from tests.labels.labels_samples import decode_barcodes, decode_qr, font_sizes, pdf_text
from tests.printing.helpers import rx_number

DUMP = os.environ.get("LABEL_DUMP_DIR")  # set to look at the PDFs (pdftoppm) while developing


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _pdf(resp, name: str) -> bytes:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "application/pdf"
    if DUMP:
        with open(os.path.join(DUMP, f"{name}.pdf"), "wb") as f:
            f.write(resp.data)
    return resp.data


def _liquid_batch(app, as_role, ids, snapshot: dict | None = None) -> tuple[int, int]:
    """A released 1 mg/mL solution batch for a 30 mL order, and the order filled from it."""
    with app.app_context(), unit_of_work() as s:
        lot = s.scalar(select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390"))
        lot.status = "released"
    order = make_order(app, strength="1", quantity=30, form="oral_solution")
    tech = as_role("technician")
    form = {
        "formula_id": ids["sol"],
        "balance_id": ids["balance"],
        "strength_basis": "hcl",
        "order_ids": [order],
    }
    assert tech.post("/batches/new", data=form).status_code == 302
    bid = latest_batch(app)
    if snapshot:
        with app.app_context(), unit_of_work() as s:
            batch = s.get(Batch, bid)
            calc = dict(batch.calculation)
            calc["formula"] = {**calc["formula"], **snapshot}
            batch.calculation = calc
    assert tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "final_volume_ml": "149",
        "appearance": "clear, colourless",
        "appearance_ok": "y",
        "units_made": "149",
    }
    assert tech.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302
    resp = tech.post(f"/batches/{bid}/dispense", data={"order_id": order, "quantity": "30"})
    assert resp.status_code == 302
    # the pharmacist's final check, once the app has one (404 before it): the label needs it
    resp = as_role("pharmacist").post(f"/orders/{order}/final-check", data={})
    assert resp.status_code in (302, 404), resp.get_data(as_text=True)
    return order, bid


def test_liquid_label_says_shake_well_and_keeps_the_usp17_sizes(app, as_role, ids):
    order, _bid = _liquid_batch(app, as_role, ids)
    pdf = _pdf(as_role("staff").post(f"/print/orders/{order}/label"), "liquid-label")
    text = pdf_text(pdf)
    assert "Shake well." in text and text.count("Shake well") == 1
    assert "Store in the refrigerator 2-8 °C" in text  # the formula's wording, category allows
    assert "Keep out of reach of children" in text
    assert "methadone or buprenorphine" in text
    assert min(font_sizes(pdf, "Take one at bedtime.")) >= 10
    assert min(font_sizes(pdf, "Do not use after")) >= 8
    assert decode_barcodes(pdf) == [f"{rx_number(app, order)}-01"]


def test_non_preserved_aqueous_is_labelled_refrigerate_whatever_the_formula_says(app, as_role, ids):
    order, bid = _liquid_batch(
        app,
        as_role,
        ids,
        {"bud_category": "non_preserved_aqueous", "storage": "Store at room temperature"},
    )
    label = pdf_text(_pdf(as_role("staff").post(f"/print/orders/{order}/label"), "np-label"))
    assert "Refrigerate (2-8 °C). Do not freeze." in label
    assert "room temperature" not in label
    batch_label = _pdf(as_role("technician").post(f"/print/batches/{bid}/label"), "np-batch")
    assert "Refrigerate (2-8 °C)" in pdf_text(batch_label)
    assert "Shake well." in pdf_text(batch_label)
    with app.app_context():
        assert decode_qr(batch_label) == [db.session.get(Batch, bid).batch_number]


def test_liquid_worksheet_shows_its_qc_results(app, as_role, ids):
    _order, bid = _liquid_batch(app, as_role, ids)
    pdf = _pdf(as_role("pharmacist").post(f"/print/batches/{bid}/worksheet"), "liquid-ws")
    text = pdf_text(pdf)
    for expected in (
        "Final volume",
        "150 mL ±",
        "149 mL (0.67 % from prepared)",
        "clear, colourless",
        "149 mL made",
        "Result: PASS — recorded by Technician User",
        "Dissolve in a portion of the vehicle; q.s. to volume; mix well.",
    ):
        assert expected in text, (expected, text)
    assert "No QC results recorded" not in text


def test_capsule_worksheet_prints_method_steps_and_bench_lines(app, as_role, ids):
    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    pdf = _pdf(tech.post(f"/print/batches/{bid}/worksheet"), "cap-ws-blank")
    text = pdf_text(pdf, upright=True)  # without the IN PROGRESS watermark
    for expected in (
        "2. Compounding method (from the master formulation record)",
        "Triturate the API with an equal portion of MCC by geometric dilution.",
        "Weigh 10 capsules for the weight check.",
        "Done by",
        "Checked by",
        "Empty shell weight (mg): ____________",
        "Unit # Gross (mg) Net fill (mg) Initials",
        "By Check",
    ):
        assert expected in text, (expected, text)
    assert "1. Weigh" not in text  # the formula's own numbering is not doubled
    # once weighed, the weigher's initials print beside each actual weight
    assert tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    again = tech.post(f"/print/batches/{bid}/worksheet", data={"reason": "weighed"})
    text = pdf_text(_pdf(again, "cap-ws-weighed"), upright=True)
    with app.app_context():
        batch = db.session.get(Batch, bid)
        rows = [(u.lot.lot_number, u.actual_quantity) for u in batch.lot_usages]
    for lot, actual in rows:
        assert lot in text and str(actual) in text
    assert " TE " in text  # the technician's initials in the By column


@pytest.mark.parametrize("stock", ["thermal-3x2", "thermal-4x2"])
def test_batch_label_qr_on_every_stock(app, as_role, ids, stock):
    _order, bid = _liquid_batch(app, as_role, ids)
    pdf = _pdf(
        as_role("technician").post(f"/print/batches/{bid}/label", data={"stock": stock}),
        f"batch-{stock}",
    )
    with app.app_context():
        assert decode_qr(pdf) == [db.session.get(Batch, bid).batch_number]
