"""Orders, scan-to-verify, labels and documents through the JSON API: hold / resume / cancel
(no manual status jumps), the label scan at hand-out, and every document as application/pdf,
logged like the pages, a reprint only with a reason; refusals leave nothing logged."""

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, LabelPrint, Order
from tests.batch_helpers import make_order, seed
from tests.printing.helpers import filled_order, rx_number

ORDERS = "/api/v1/orders"


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _errors(resp) -> dict:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def _text(resp) -> str:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("inline; filename=")
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)


def _prints(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(select(LabelPrint).order_by(LabelPrint.id))
        return [(r.document, r.entity, r.entity_id, r.reprint, r.reason) for r in rows]


def _audits(app, action) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )


def checked_order(app, api, as_role, ids, **kw) -> tuple[int, int]:
    """A filled order that passed the pharmacist's final check (labels print from here)."""
    oid, bid = filled_order(app, as_role, ids, check=False, **kw)
    resp = api("pharmacist").post(f"{ORDERS}/{oid}/final-check", json={})
    assert resp.status_code == 201, resp.get_json()
    return oid, bid


def _status(app, order_id) -> tuple[str, str | None]:
    with app.app_context():
        o = db.session.get(Order, order_id)
        return o.status, o.held_from


# --- order moves ------------------------------------------------------------------------------


def test_hold_resume_and_cancel_an_order(app, api, ids):
    oid = make_order(app)  # verified
    staff = api("staff")
    base = f"{ORDERS}/{oid}"
    assert staff.post(f"{base}/resume").status_code == 409
    resp = staff.post(f"{base}/hold", json={"reason": " "})
    assert resp.status_code == 422 and "reason" in _errors(resp)
    assert _status(app, oid) == ("verified", None)

    resp = staff.post(f"{base}/hold", json={"reason": "Patient asked to wait"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "on_hold"
    assert _status(app, oid) == ("on_hold", "verified")
    # Back to verified is a pharmacist's move, as on the order page.
    assert staff.post(f"{base}/resume").status_code == 409
    resp = api("pharmacist").post(f"{base}/resume")
    assert resp.status_code == 200 and resp.get_json()["status"] == "verified"
    history = [e["action"] for e in resp.get_json()["history"]]
    assert history.count("order.transition") == 2

    resp = staff.post(f"{base}/cancel", json={"reason": "Prescriber stopped LDN"})
    assert resp.status_code == 200
    assert (resp.get_json()["status"], resp.get_json()["status_reason"]) == (
        "cancelled",
        "Prescriber stopped LDN",
    )
    assert staff.post(f"{base}/hold", json={"reason": "too late"}).status_code == 409
    with app.app_context():
        moves = db.session.scalars(
            select(AuditEvent.new)
            .where(AuditEvent.action == "order.transition", AuditEvent.entity_id == str(oid))
            .order_by(AuditEvent.id)
        ).all()
    assert [m["status"] for m in moves] == ["on_hold", "verified", "cancelled"]


def test_there_is_no_manual_status_jump(app, api, ids):
    oid = make_order(app)
    pharmacist = api("pharmacist")
    for body in ({"target": "ready"}, {"status": "ready"}):
        resp = pharmacist.post(f"{ORDERS}/{oid}/status", json=body)
        assert resp.status_code in (404, 405)
    assert _status(app, oid) == ("verified", None)


def test_order_moves_need_a_token_and_a_pharmacy_role(app, api, ids, client):
    oid = make_order(app)
    admin = api("admin")
    assert client.post(f"{ORDERS}/{oid}/hold", json={"reason": "x y z"}).status_code == 401
    assert admin.post(f"{ORDERS}/{oid}/hold", json={"reason": "x y z"}).status_code == 403
    assert api("staff").post(f"{ORDERS}/999999/hold", json={"reason": "x"}).status_code == 404
    assert _status(app, oid) == ("verified", None)


# --- scan-to-verify ---------------------------------------------------------------------------


def test_scan_matches_the_label_and_batch_and_is_recorded(app, api, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    with app.app_context():
        batch_number = db.session.get(Batch, bid).batch_number
    staff = api("staff")
    resp = staff.post(
        f"{ORDERS}/{oid}/scan",
        json={"label_code": f"{rx_number(app, oid).lower()}-01\r", "batch_code": batch_number},
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["match"] is True and body["order"] == f"{rx_number(app, oid)}-01"
    assert body["batches"] == [batch_number]
    assert _audits(app, "label.verify") == 1


def test_a_wrong_label_or_batch_is_refused_and_not_recorded(app, api, as_role, ids):
    oid, _ = filled_order(app, as_role, ids)
    other, _ = filled_order(app, as_role, ids)
    staff = api("staff")
    resp = staff.post(
        f"{ORDERS}/{oid}/scan",
        json={"label_code": f"{rx_number(app, other)}-01", "batch_code": "20200101-LDNCAP-999"},
    )
    assert resp.status_code == 422
    errors = _errors(resp)
    assert "do not hand it out" in errors["label_code"]
    assert "did not fill order" in errors["batch_code"]
    resp = staff.post(f"{ORDERS}/{oid}/scan", json={})
    assert resp.status_code == 422 and "scan the barcode" in _errors(resp)["label_code"]
    resp = staff.post(f"{ORDERS}/{oid}/scan", json={"label_code": 12})
    assert resp.status_code == 422 and "label_code" in _errors(resp)
    assert _audits(app, "label.verify") == 0
    assert api("admin").post(f"{ORDERS}/{oid}/scan", json={}).status_code == 403


# --- labels and documents ---------------------------------------------------------------------


def test_dispensing_label_pdf_is_logged_and_a_reprint_needs_a_reason(app, api, as_role, ids):
    oid, _ = checked_order(app, api, as_role, ids)
    rx = rx_number(app, oid)
    staff = api("staff")
    resp = staff.post(f"{ORDERS}/{oid}/label")
    text = _text(resp)
    assert f"Rx# {rx}" in text and "Margaret Ellis" in text and f"{rx}-01" in text
    assert "Naltrexone HCl 4.5 mg capsules" in text and "Qty: 30 capsules" in text
    assert "REPRINT" not in text
    [log] = _prints(app)
    assert log == ("dispensing_label", "rx_order", str(oid), False, None)
    assert resp.headers["X-Print-Log"].isdigit()
    assert _audits(app, "document.print") == 1

    resp = staff.post(f"{ORDERS}/{oid}/label", json={})
    assert resp.status_code == 422 and "printed before" in _errors(resp)["reason"]
    assert len(_prints(app)) == 1
    resp = staff.post(f"{ORDERS}/{oid}/label", json={"reason": "label smudged", "copies": 2})
    assert "REPRINT" in _text(resp)
    assert _prints(app)[-1] == ("dispensing_label", "rx_order", str(oid), True, "label smudged")
    assert _audits(app, "document.reprint") == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"stock": "nonsense"}, "stock"),
        ({"start_position": 999}, "start_position"),
        ({"start_position": "2"}, "start_position"),
        ({"copies": 0}, "copies"),
        ({"copies": 1000}, "copies"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_print_options_are_refused_naming_the_field(app, api, as_role, ids, body, field):
    oid, _ = checked_order(app, api, as_role, ids)
    resp = api("staff").post(f"{ORDERS}/{oid}/label", json=body)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert field in _errors(resp)
    assert _prints(app) == []


def test_no_label_before_the_fill_and_the_final_check(app, api, as_role, ids):
    oid = make_order(app)
    resp = api("staff").post(f"{ORDERS}/{oid}/label")
    assert resp.status_code == 409
    assert "nothing dispensed yet" in resp.get_json()["errors"][0]["message"]
    oid, _ = filled_order(app, as_role, ids, check=False)
    resp = api("staff").post(f"{ORDERS}/{oid}/label")
    assert resp.status_code == 409
    assert "final check" in resp.get_json()["errors"][0]["message"]
    assert _prints(app) == [] and _audits(app, "document.print") == 0


def test_titration_kit_labels_calendar_and_leaflet(app, api, as_role, ids):
    # 30 capsules: a 30-day supply lies within the batch's 45-day BUD, so the fill needs no
    # pharmacist's reason for a short BUD.
    oid, _ = checked_order(
        app, api, as_role, ids, strength="1.5", steps=[("1.5", 7), ("3", 7)], quantity=30
    )
    staff = api("staff")
    text = _text(staff.post(f"{ORDERS}/{oid}/titration-labels", json={"start_date": "2026-12-07"}))
    assert "Step 1 of 3: 1.5 mg daily, Dec 7, 2026 – Dec 13, 2026" in text
    cal = _text(staff.post(f"{ORDERS}/{oid}/titration-calendar", json={"start_date": "2026-12-07"}))
    assert "Take 2 capsules (3 mg) by mouth once daily" in cal and "Dec 14, 2026" in cal
    assert "(maintenance dose)" in cal  # the schedule runs through to the maintenance dose
    with app.app_context():
        rx_id = db.session.get(Order, oid).prescription_id
    leaflet = _text(staff.post(f"/api/v1/prescriptions/{rx_id}/leaflet"))
    assert "naltrexone" in leaflet.lower()
    assert [p[0] for p in _prints(app)] == ["titration_labels", "titration_calendar", "leaflet"]
    resp = staff.post(f"{ORDERS}/{oid}/titration-labels", json={"start_date": "someday"})
    assert resp.status_code == 422 and "start_date" in _errors(resp)


def test_batch_label_and_worksheet_are_for_the_bench_only(app, api, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    with app.app_context():
        batch_number = db.session.get(Batch, bid).batch_number
    staff, tech = api("staff"), api("technician")
    assert staff.post(f"/api/v1/batches/{bid}/label").status_code == 403
    assert staff.post(f"/api/v1/batches/{bid}/worksheet").status_code == 403
    assert batch_number in _text(tech.post(f"/api/v1/batches/{bid}/label"))
    sheet = _text(tech.post(f"/api/v1/batches/{bid}/worksheet"))
    assert batch_number in sheet
    assert [p[:3] for p in _prints(app)] == [
        ("batch_label", "batch", str(bid)),
        ("worksheet", "batch", str(bid)),
    ]
    resp = tech.post(f"/api/v1/batches/{bid}/worksheet")
    assert resp.status_code == 422 and "reason" in _errors(resp)
    assert tech.post("/api/v1/batches/999999/label").status_code == 404


def test_ready_labels_prints_every_first_label_once(app, api, as_role, ids):
    first, _ = checked_order(app, api, as_role, ids)
    second, _ = checked_order(app, api, as_role, ids)
    staff = api("staff")
    text = _text(staff.post("/api/v1/ready-labels"))
    assert rx_number(app, first) in text and rx_number(app, second) in text
    assert [p[2] for p in _prints(app)] == [str(first), str(second)]
    resp = staff.post("/api/v1/ready-labels")
    assert resp.status_code == 409 and len(_prints(app)) == 2


def test_documents_need_a_token(app, api, as_role, ids, client):
    oid, _ = checked_order(app, api, as_role, ids)
    assert client.post(f"{ORDERS}/{oid}/label").status_code == 401
    assert api("admin").post(f"{ORDERS}/{oid}/label").status_code == 403
    assert _prints(app) == []
