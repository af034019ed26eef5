"""Electronic signatures: the password re-entered on verify, MFR approval, release and the final
check; the signature row (who, meaning, when, hash of the content) written with the action."""

from __future__ import annotations

import io
import re
from decimal import Decimal as D

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain import signatures as rules
from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Batch,
    ElectronicSignature,
    Formula,
    Order,
    Prescription,
    User,
)
from pharmacy.services import handout, signatures
from tests.batch_helpers import (
    latest_batch,
    make_order,
    passing_weights,
    seed,
    start_form,
    weights_data,
)
from tests.printing.helpers import filled_order, released_batch
from tests.support import form_error, signoff

WRONG = "not-my-password-1"


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _signatures(app, entity: str, entity_id: int) -> list[ElectronicSignature]:
    with app.app_context():
        rows = signatures.for_record(db.session, entity, entity_id)
        db.session.expunge_all()
        return rows


def _entered_rx(app) -> int:
    """A prescription waiting for the pharmacist's verification."""
    oid = make_order(app, status="received")
    with app.app_context(), unit_of_work() as s:
        rx = s.get(Order, oid).prescription
        rx.status, rx.verified_by_id = "entered", None
        return rx.id


def test_content_hash_ignores_key_order_and_keeps_decimals_exact():
    a = {"strength_mg": D("4.50"), "rx": "RX1", "steps": [{"days": 14}]}
    b = {"steps": [{"days": 14}], "rx": "RX1", "strength_mg": D("4.50")}
    assert rules.content_hash(a) == rules.content_hash(b)
    assert rules.content_hash(a) != rules.content_hash({**a, "strength_mg": D("4.5")})
    assert rules.meaning_text("batch_release") == "released: batch meets specifications"
    with pytest.raises(ValueError):
        rules.meaning_text("approved-ish")


def test_wrong_password_refuses_verify_by_field_and_writes_nothing(app, as_role, ids):
    rx_id = _entered_rx(app)
    ph = as_role("pharmacist")
    with app.app_context():
        audits = db.session.scalar(select(func.max(AuditEvent.id)))
    resp = ph.post(f"/prescriptions/{rx_id}/verify", data={"password": WRONG})
    assert resp.status_code == 422
    assert "is not your password" in form_error(resp, "password")
    resp = ph.post(f"/prescriptions/{rx_id}/verify", data={"password": ""})
    assert resp.status_code == 422
    assert "re-enter your password" in form_error(resp, "password")
    with app.app_context():
        assert db.session.get(Prescription, rx_id).status == "entered"
    assert _signatures(app, "prescription", rx_id) == []
    # The one new audit record: the wrong password, counted as a failed sign-in attempt (an
    # empty one is only a missing field).
    with app.app_context():
        new = db.session.scalars(select(AuditEvent).where(AuditEvent.id > audits)).all()
        assert [(e.action, e.new["username"], e.new["reason"]) for e in new] == [
            ("session.failed", "pharmacist", "wrong signature password")
        ]

    assert ph.post(f"/prescriptions/{rx_id}/verify", data={}).status_code == 302
    [sig] = _signatures(app, "prescription", rx_id)
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert rx.status == "verified"
        pharmacist = db.session.scalar(select(User).where(User.username == "pharmacist"))
        assert sig.signed_by_id == pharmacist.id == rx.verified_by_id
        signed = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "signature.sign", AuditEvent.entity_id == str(rx_id)
            )
        )
        assert signed.entity == "prescription" and signed.entity_id == str(rx_id)
        assert signed.new["content_hash"] == sig.content_hash
    assert sig.meaning == "verified: prescription clinically appropriate"
    assert (sig.signer_name, sig.signer_initials) == ("Pharmacist User", "PH")
    assert sig.content["rx_number"] == rx.rx_number
    assert sig.content["strength_mg"] == "4.5000" or D(sig.content["strength_mg"]) == D("4.5")
    assert "status" not in sig.content  # the prescription as written, not its workflow
    assert signatures.is_intact(sig)
    assert rules.content_hash(sig.content) == sig.content_hash
    page = ph.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert "verified: prescription clinically appropriate" in page
    assert "Pharmacist User (PH)" in page


def test_formula_approval_is_signed_and_shown(app, as_role, ids):
    ph = as_role("pharmacist")
    with app.app_context():
        cap = db.session.get(Formula, ids["cap"])
    resp = ph.post(f"/formulas/{ids['cap']}/new-version")
    assert resp.status_code == 302
    fid = int(resp.headers["Location"].rstrip("/").split("/")[-2])
    with app.app_context(), unit_of_work() as s:
        s.get(Formula, fid).api_tolerance_percent = D("5")  # the demo's formulas predate it
    resp = ph.post(f"/formulas/{fid}/approve", data={"password": WRONG})
    assert resp.status_code == 422
    assert "is not your password" in form_error(resp, "password")
    with app.app_context():
        assert db.session.get(Formula, fid).status == "draft"
        assert db.session.get(Formula, cap.id).status == "approved"  # nothing retired
    resp = ph.post(f"/formulas/{fid}/approve")
    assert resp.status_code == 302, re.findall(r"form-error[^<]*<", resp.get_data(as_text=True))
    [sig] = _signatures(app, "formula", fid)
    assert sig.meaning == "approved: master formulation record"
    assert sig.content["code"] == "LDN-CAP" and sig.content["lines"]
    page = ph.get(f"/formulas/{fid}").get_data(as_text=True)
    assert "approved: master formulation record" in page


def test_release_is_signed_and_prints_on_the_worksheet(app, as_role, ids):
    bid = released_batch(app, as_role, ids)
    [sig] = _signatures(app, "batch", bid)
    assert sig.meaning == "released: batch meets specifications"
    assert sig.content["batch_number"] and sig.content["lots"] and sig.content["qc"]
    assert signatures.is_intact(sig)
    ph = as_role("pharmacist")
    assert "released: batch meets specifications" in ph.get(f"/batches/{bid}").get_data(
        as_text=True
    )
    resp = ph.post(f"/print/batches/{bid}/worksheet")
    assert resp.status_code == 200, resp.status_code
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(resp.data)).pages
    )
    assert "e-signed: released: batch meets specifications" in text


def test_release_refused_on_wrong_password(app, as_role, api, ids):
    oid = make_order(app)
    with app.app_context():
        assert db.session.get(Order, oid) is not None
    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    assert tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": "100",
    }
    assert tech.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    resp = as_role("pharmacist").post(f"/batches/{bid}/release", data={"password": WRONG})
    assert resp.status_code == 422
    assert "is not your password" in form_error(resp, "password")
    resp = api("pharmacist").post(f"/api/v1/batches/{bid}/release", json={"password": WRONG})
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "password"
    with app.app_context():
        assert db.session.get(Batch, bid).status == "awaiting_check"
    assert _signatures(app, "batch", bid) == []


def test_final_check_signed_through_the_api_and_marked_on_the_label(app, as_role, api, ids):
    oid, _ = filled_order(app, as_role, ids, check=False)
    client = api("pharmacist")
    url = f"/api/v1/orders/{oid}/final-check"
    resp = client.post(url, json={"notes": "ok", "password": WRONG})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == [
        {"field": "password", "message": "is not your password; nothing was signed or changed"}
    ]
    with app.app_context():
        assert db.session.get(Order, oid).status == "ready"
        assert handout.latest_check(db.session, db.session.get(Order, oid)) is None
        refused = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.failed"))
        assert refused.new["username"] == "pharmacist"
    resp = client.post(url, json={"notes": "ok"})  # the test helper signs with the password
    assert resp.status_code == 201, resp.get_json()
    [sig] = _signatures(app, "rx_order", oid)
    assert sig.meaning == "checked: product, label and prescription match"
    with app.app_context():
        check = handout.latest_check(db.session, db.session.get(Order, oid))
        assert sig.content["final_check_id"] == check.id
    page = as_role("pharmacist").get(f"/orders/{oid}").get_data(as_text=True)
    assert "checked: product, label and prescription match" in page
    resp = as_role("pharmacist").post(f"/print/orders/{oid}/label")
    assert resp.status_code == 200, resp.status_code
    text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "RPh: PH (e-signed)" in " ".join(text.split())


def test_a_service_call_without_a_signature_is_refused(app, ids, pharmacy):
    rx_id = _entered_rx(app)
    with app.app_context(), unit_of_work() as s:
        rx = s.get(Prescription, rx_id)
        ph = s.get(User, pharmacy["pharmacist"])
        from pharmacy.domain.errors import ValidationFailed
        from pharmacy.services import prescriptions

        with pytest.raises(ValidationFailed) as exc:
            prescriptions.verify(s, ph, rx, sign=None)
        assert exc.value.errors[0].field == "password"
        with pytest.raises(ValidationFailed):
            prescriptions.verify(s, ph, rx, sign=signoff(WRONG))
