"""Printing from the app: PDFs read back, the print log and audit, reprints, refusals, roles."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, LabelPrint, Order, PharmacyProfile, User
from tests.batch_helpers import make_order, seed
from tests.labels.labels_samples import decode_barcodes, page_count, page_sizes, pdf_text
from tests.printing.helpers import filled_order, released_batch, rx_number, set_directions

LETTER = (612.0, 792.0)


def pypdf_text(pdf: bytes) -> str:
    """pypdf reads rotated watermarks as words (pdfplumber scatters their letters)."""
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _prints(app, document=None) -> list[LabelPrint]:
    with app.app_context():
        stmt = select(LabelPrint).order_by(LabelPrint.id)
        if document:
            stmt = stmt.where(LabelPrint.document == document)
        rows = db.session.scalars(stmt).all()
        db.session.expunge_all()
        return rows


def _audit(app, action) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return rows


def _pdf(resp) -> bytes:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("inline; filename=")
    return resp.data


# --- dispensing labels ------------------------------------------------------------------------


def test_dispensing_label_reads_back_and_is_logged(app, as_role, ids, pharmacy):
    oid, bid = filled_order(app, as_role, ids)
    rx = rx_number(app, oid)
    with app.app_context():
        batch = db.session.get(Batch, bid)
        batch_number, bud = batch.batch_number, batch.beyond_use_date
        patient = db.session.get(Order, oid).prescription.patient.full_name
    resp = as_role("staff").post(f"/print/orders/{oid}/label")
    pdf = _pdf(resp)
    assert f'filename="label-{rx}-01.pdf"' in resp.headers["Content-Disposition"]
    assert page_sizes(pdf) == [(288.0, 144.0)]  # the pharmacy default: thermal 4 x 2 in
    text = pdf_text(pdf)
    for expected in (
        patient,
        f"Rx# {rx}",
        "Naltrexone HCl 4.5 mg capsules",
        batch_number,
        "Do not use after",
        bud.strftime("%b"),
        "RPh: PH",  # the pharmacist who verified (a technician filled it)
        "compounded",
        "Test Compounding Pharmacy",
    ):
        assert expected in text, (expected, text)
    assert "REPRINT" not in text
    assert decode_barcodes(pdf) == [f"{rx}-01"]

    [row] = _prints(app)
    assert (row.document, row.entity, row.entity_id, row.stock, row.copies, row.reprint) == (
        "dispensing_label",
        "rx_order",
        str(oid),
        "thermal-4x2",
        1,
        False,
    )
    assert row.printed_by_id == pharmacy["staff"]
    [event] = _audit(app, "document.print")
    assert (event.entity, event.entity_id, event.actor) == ("rx_order", str(oid), "staff")
    assert event.new["label_print_id"] == row.id and event.new["stock"] == "thermal-4x2"
    # the order page lists the print
    html = as_role("staff").get(f"/orders/{oid}").get_data(as_text=True)
    assert 'data-testid="print-log"' in html and "dispensing label" in html


def test_reprint_needs_a_reason_and_is_marked(app, as_role, ids):
    oid, _bid = filled_order(app, as_role, ids)
    c = as_role("technician")
    _pdf(c.post(f"/print/orders/{oid}/label"))
    resp = c.post(f"/print/orders/{oid}/label", data={"reason": " "})
    assert resp.status_code == 422
    assert "printed before" in resp.get_data(as_text=True)
    assert len(_prints(app)) == 1

    pdf = _pdf(c.post(f"/print/orders/{oid}/label", data={"reason": "label smudged"}))
    assert "REPRINT" in pdf_text(pdf)
    first, second = _prints(app)
    assert (first.reprint, second.reprint, second.reason) == (False, True, "label smudged")
    [event] = _audit(app, "document.reprint")
    assert event.reason == "label smudged" and event.new["reprint"] is True


def test_stock_override_start_position_and_pharmacy_default(app, as_role, ids):
    oid, _bid = filled_order(app, as_role, ids)
    c = as_role("technician")
    pdf = _pdf(
        c.post(f"/print/orders/{oid}/label", data={"stock": "avery-5163", "start_position": "4"})
    )
    assert page_sizes(pdf) == [LETTER]
    assert rx_number(app, oid) in pdf_text(pdf)
    assert _prints(app)[0].stock == "avery-5163"

    # the administrator changes the default on the pharmacy page
    admin = as_role("admin")
    page = admin.get("/admin/pharmacy").get_data(as_text=True)
    assert 'name="default_label_stock"' in page
    resp = admin.post(
        "/admin/pharmacy",
        data={
            "name": "Test Compounding Pharmacy",
            "address": "1 Test Street, Springfield",
            "phone": "555-0100",
            "licence_number": "LIC-1",
            "default_label_stock": "thermal-3x2",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PharmacyProfile.default_label_stock)) == "thermal-3x2"
    pdf = _pdf(c.post(f"/print/orders/{oid}/label", data={"reason": "vial changed"}))
    assert page_sizes(pdf)[0] == (216.0, 144.0)
    assert decode_barcodes(pdf) == [f"{rx_number(app, oid)}-01"]


def test_a_new_pharmacy_defaults_to_a_known_stock(app):
    with app.app_context(), unit_of_work() as s:
        row = PharmacyProfile(name="P", address="A", phone="1", licence_number="L")
        s.add(row)
        s.flush()
        assert row.default_label_stock == "thermal-4x2"


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"stock": "dymo-99"}, "Unknown label stock"),
        ({"stock": "avery-5163", "start_position": "11"}, "off the sheet"),
        ({"stock": "thermal-4x2", "start_position": "2"}, "off the sheet"),
        ({"start_position": "first"}, "not a whole number"),
    ],
)
def test_bad_print_options_are_refused_with_nothing_logged(app, as_role, ids, data, needle):
    oid, _bid = filled_order(app, as_role, ids)
    resp = as_role("technician").post(f"/print/orders/{oid}/label", data=data)
    assert resp.status_code == 422
    assert needle in resp.get_data(as_text=True)
    assert resp.mimetype == "text/html"
    assert _prints(app) == [] and _audit(app, "document.print") == []


def test_text_that_cannot_fit_is_refused_naming_the_field(app, as_role, ids):
    oid, _bid = filled_order(app, as_role, ids)
    set_directions(app, oid, "Take one capsule by mouth at bedtime. " * 40)
    resp = as_role("technician").post(f"/print/orders/{oid}/label", data={"stock": "thermal-3x2"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "directions" in html and "thermal-3x2" in html
    assert _prints(app) == []


def test_user_text_is_escaped_on_the_label(app, as_role, ids):
    oid, _bid = filled_order(app, as_role, ids)
    set_directions(app, oid, "Take 1 capsule <b>at bedtime</b> & drink water")
    text = pdf_text(_pdf(as_role("technician").post(f"/print/orders/{oid}/label")))
    assert "<b>at bedtime</b> & drink water" in text


def test_no_label_for_an_order_not_filled(app, as_role, ids):
    oid = make_order(app)
    resp = as_role("staff").post(f"/print/orders/{oid}/label")
    assert resp.status_code == 409
    assert "nothing dispensed yet" in resp.get_data(as_text=True)
    assert _prints(app) == []


def test_no_label_for_units_of_a_recalled_batch(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    resp = as_role("pharmacist").post(f"/batches/{bid}/recall", data={"reason": "lot recall"})
    assert resp.status_code in (200, 302)
    resp = as_role("staff").post(f"/print/orders/{oid}/label")
    assert resp.status_code == 409
    assert "recalled" in resp.get_data(as_text=True)
    assert _prints(app) == []


def test_unknown_records_are_404(app, as_role, pharmacy):
    c = as_role("pharmacist")
    for url in (
        "/print/orders/999/label",
        "/print/orders/999/titration-labels",
        "/print/orders/999/titration-calendar",
        "/print/prescriptions/999/leaflet",
        "/print/batches/999/label",
        "/print/batches/999/worksheet",
    ):
        assert c.post(url).status_code == 404, url


# --- ready orders in one job ------------------------------------------------------------------


def test_print_all_labels_for_ready_orders(app, as_role, ids):
    o1, _ = filled_order(app, as_role, ids)
    o2, _ = filled_order(app, as_role, ids)
    c = as_role("staff")
    assert "Print all labels for ready orders" in c.get("/orders/queue").get_data(as_text=True)
    pdf = _pdf(c.post("/print/ready-labels", data={"stock": "avery-5163"}))
    assert page_count(pdf) == 1
    text = pdf_text(pdf)
    assert rx_number(app, o1) in text and rx_number(app, o2) in text
    assert {p.entity_id for p in _prints(app)} == {str(o1), str(o2)}
    # done: nothing left to print in bulk
    resp = c.post("/print/ready-labels")
    assert resp.status_code == 409 and "No ready order" in resp.get_data(as_text=True)


# --- titration kits ---------------------------------------------------------------------------


def test_titration_kit_labels_and_calendar(app, as_role, ids):
    oid, _bid = filled_order(
        app, as_role, ids, quantity=40, strength="1.5", steps=(("1.5", 7), ("3", 7))
    )
    c = as_role("staff")
    pdf = _pdf(c.post(f"/print/orders/{oid}/titration-labels", data={"start_date": "2030-01-07"}))
    text = pdf_text(pdf)
    assert "Step 1 of 2" in text and "Step 2 of 2" in text
    assert "Take 2 capsules (3 mg) by mouth once daily at bedtime for 7 days" in text
    assert set(decode_barcodes(pdf, 0)) == {f"{rx_number(app, oid)}-01"}
    cal = _pdf(c.post(f"/print/orders/{oid}/titration-calendar", data={"start_date": "2030-01-07"}))
    assert page_sizes(cal) == [LETTER]
    assert "dosing calendar" in pdf_text(cal)
    assert [p.document for p in _prints(app)] == ["titration_labels", "titration_calendar"]


def test_titration_steps_that_need_part_capsules_are_refused(app, as_role, ids):
    oid, _bid = filled_order(app, as_role, ids)
    with app.app_context(), unit_of_work() as s:
        from decimal import Decimal

        from pharmacy.models import TitrationStep

        rx = s.get(Order, oid).prescription
        s.add(TitrationStep(prescription_id=rx.id, position=1, strength_mg=Decimal("1.5"), days=7))
    resp = as_role("staff").post(f"/print/orders/{oid}/titration-labels")
    assert resp.status_code == 409
    assert "cannot be given with 4.5 mg capsules" in resp.get_data(as_text=True)
    resp = as_role("staff").post(
        f"/print/orders/{filled_order(app, as_role, ids)[0]}/titration-labels"
    )
    assert resp.status_code == 409 and "no titration plan" in resp.get_data(as_text=True)
    assert _prints(app) == []


# --- leaflets ---------------------------------------------------------------------------------


def test_leaflet_for_a_prescription(app, as_role, ids):
    oid = make_order(app)
    with app.app_context():
        rx = db.session.get(Order, oid).prescription
        rx_id, patient = rx.id, rx.patient.full_name
    c = as_role("staff")
    pdf = _pdf(c.post(f"/print/prescriptions/{rx_id}/leaflet", data={"start_date": "2030-01-07"}))
    assert set(page_sizes(pdf)) == {LETTER}
    text = pdf_text(pdf)
    assert patient in text and "opioid" in text.lower()
    # a second copy is routine, not a reprint
    _pdf(c.post(f"/print/prescriptions/{rx_id}/leaflet"))
    assert [(p.entity, p.reprint, p.stock) for p in _prints(app)] == [
        ("prescription", False, "letter"),
        ("prescription", False, "letter"),
    ]
    assert "Print patient leaflet" in c.get(f"/prescriptions/{rx_id}").get_data(as_text=True)


# --- batch documents --------------------------------------------------------------------------


def test_batch_container_label(app, as_role, ids):
    bid = released_batch(app, as_role, ids)
    with app.app_context():
        number = db.session.get(Batch, bid).batch_number
    c = as_role("technician")
    assert "Print container label" in c.get(f"/batches/{bid}").get_data(as_text=True)
    pdf = _pdf(c.post(f"/print/batches/{bid}/label", data={"copies": "3"}))
    assert page_sizes(pdf) == [(288.0, 144.0)] * 3
    text = pdf_text(pdf, 0)
    assert number in text and "Technician User" in text and "Pharmacist User" in text
    assert decode_barcodes(pdf) == [number]
    [row] = _prints(app)
    assert (row.document, row.entity, row.copies) == ("batch_label", "batch", 3)
    assert as_role("staff").post(f"/print/batches/{bid}/label").status_code == 403
    # a 3 in roll cannot carry a decodable barcode of this batch number: refused, not cut off
    resp = c.post(f"/print/batches/{bid}/label", data={"stock": "thermal-3x2", "reason": "x" * 5})
    assert resp.status_code == 422 and "barcode" in resp.get_data(as_text=True)
    assert len(_prints(app)) == 1


def test_no_container_label_before_release(app, as_role, ids):
    c = as_role("technician")
    from tests.batch_helpers import latest_batch, start_form

    assert c.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    resp = c.post(f"/print/batches/{bid}/label")
    assert resp.status_code == 409 and "in progress" in resp.get_data(as_text=True)
    # the worksheet prints at any stage, marked as such
    pdf = _pdf(c.post(f"/print/batches/{bid}/worksheet"))
    assert "IN PROGRESS" in pypdf_text(pdf)
    assert [p.document for p in _prints(app)] == ["worksheet"]


def test_worksheet_is_the_batch_record(app, as_role, ids):
    bid = released_batch(app, as_role, ids)
    with app.app_context():
        batch = db.session.get(Batch, bid)
        number = batch.batch_number
        lots = [u.lot.lot_number for u in batch.lot_usages]
        steps = [s["label"] for s in batch.calculation["result"]["steps"]]
        balance = batch.balance.name
    c = as_role("pharmacist")
    pdf = _pdf(c.post(f"/print/batches/{bid}/worksheet"))
    assert set(page_sizes(pdf)) == {LETTER}
    text = pdf_text(pdf)
    for expected in (
        number,
        "LDN-CAP",
        "v1",
        "Technician User",
        "Pharmacist User",
        balance.split()[0],
    ):
        assert expected in text, expected
    for lot in lots:
        assert lot in text
    words = set(text.split())  # wrapped table cells interleave, so compare word by word
    for label in steps:
        assert set(label.split()) <= words, label
    assert "PASS" in text and "200" in text
    assert "IN PROGRESS" not in pypdf_text(pdf) and "REPRINT" not in pypdf_text(pdf)
    assert as_role("staff").post(f"/print/batches/{bid}/worksheet").status_code == 403
    resp = c.post(f"/print/batches/{bid}/worksheet")
    assert resp.status_code == 422
    again = c.post(f"/print/batches/{bid}/worksheet", data={"reason": "inspector copy"})
    assert "REPRINT" in pypdf_text(_pdf(again))


def test_role_matrix_for_printing(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    with app.app_context():
        rx_id = db.session.get(Order, oid).prescription_id
    expected = {
        f"/print/orders/{oid}/label": {"pharmacist", "technician", "staff"},
        f"/print/prescriptions/{rx_id}/leaflet": {"pharmacist", "technician", "staff"},
        f"/print/batches/{bid}/label": {"pharmacist", "technician"},
        f"/print/batches/{bid}/worksheet": {"pharmacist", "technician"},
    }
    for url, allowed in expected.items():
        for role in ("pharmacist", "technician", "staff", "admin"):
            resp = as_role(role).post(url, data={"reason": f"test by {role}"})
            assert (resp.status_code == 200) == (role in allowed), (url, role, resp.status_code)
            assert resp.status_code in (200, 403)
    with app.app_context():
        counts = dict(
            db.session.execute(
                select(User.username, func.count())
                .join(LabelPrint, LabelPrint.printed_by_id == User.id)
                .group_by(User.username)
            ).all()
        )
    assert counts == {"pharmacist": 4, "technician": 4, "staff": 2}
