"""Reads and exports of patient data are audited; CSV cells cannot run as formulas; file
names are safe; wildcard-only searches are refused; an admin-only user sees no patient detail."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Order, Patient, User
from pharmacy.services import accounts, audit
from pharmacy.web.exports import csv_safe, safe_filename
from tests.batch_helpers import make_order, seed
from tests.batches.test_dispense_and_recall import _released_batch


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _reads(app, action):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()


@pytest.mark.parametrize(
    "value, safe",
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),
        ("Margaret", "Margaret"),
        (30, 30),
    ],
)
def test_csv_cells_that_would_run_as_formulas_are_neutralised(value, safe):
    assert csv_safe(value) == safe


def test_file_names_are_sanitised():
    assert safe_filename('recall-lot-A"; filename=evil.exe\r\n.csv') == (
        "recall-lot-A-filename-evil.exe-.csv"
    )
    assert safe_filename("../../etc/passwd") == "etc-passwd"
    assert safe_filename("...") == "export"


def test_recall_export_and_trace_are_audited_and_the_csv_is_neutralised(app, as_role, ids):
    bid = _released_batch(app, as_role, ids)
    oid = make_order(app, quantity=30)
    c = as_role("technician")
    assert (
        c.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "30"}).status_code
        == 302
    )
    with app.app_context(), unit_of_work() as s:
        patient = s.get(Order, oid).prescription.patient
        s.get(Patient, patient.id).first_name = '=HYPERLINK("http://evil.example")'
    lot_id = ids["lots"]["NTX-25002"]

    assert c.get(f"/batches/trace?lot_id={lot_id}").status_code == 200
    resp = c.get(f"/batches/trace.csv?lot_id={lot_id}")
    assert resp.status_code == 200
    assert 'filename="recall-lot-NTX-25002.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0]["patient"].startswith("'=HYPERLINK")

    reads = _reads(app, "patient_data.read")
    exports = _reads(app, "patient_data.export")
    assert [(e.actor, e.entity_id, e.ip) for e in reads] == [
        ("technician", f"lot_trace:{lot_id}", "127.0.0.1")
    ]
    assert exports[0].new == {"export": "recall-lot-NTX-25002.csv", "recipients": 1}


def test_order_api_reads_are_audited(app, as_role, ids):
    oid = make_order(app, quantity=30)
    with app.app_context(), unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "staff"))
        token = accounts.create_api_token(s, user, user, "reads")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/v1/orders/{oid}", headers=headers).status_code == 200
    assert api.get("/api/v1/orders?q=ellis", headers=headers).status_code == 200
    reads = _reads(app, "patient_data.read")
    assert [(e.actor, e.entity_id) for e in reads] == [
        ("staff", f"order:{oid}"),
        ("staff", "order_search:ellis"),
    ]


@pytest.mark.parametrize("q", ["%", "_", "%%", " % _ ", "*"])
def test_wildcard_only_searches_are_refused(as_role, ids, q):
    c = as_role("staff")
    for url in ("/patients/", "/orders/", "/prescribers/"):
        resp = c.get(url, query_string={"q": q})
        assert resp.status_code == 422, url
        assert 'data-field-error="q"' in resp.get_data(as_text=True)


def test_an_admin_only_user_sees_no_patient_detail_in_the_audit_view(app, as_role, ids):
    with app.app_context(), unit_of_work() as s:
        audit.record(
            s,
            "test",
            "patient.update",
            "patient",
            1,
            {"last_name": "Ellis"},
            {"last_name": "Sillerby"},
        )
        audit.record(s, "test", "user.touch", "user", 1, None, {"full_name": "Visible Person"})
    page = as_role("admin").get("/admin/audit").get_data(as_text=True)
    assert "Sillerby" not in page and "Patient detail hidden" in page
    assert "Visible Person" in page
    # An administrator who is also a pharmacist sees it.
    with app.app_context(), unit_of_work() as s:
        accounts.create_user(
            s,
            "test",
            accounts.NewUser(
                "ph.admin", "Pharm Admin", "PA", "correct-Horse-battery-9", ("pharmacist", "admin")
            ),
            app.config["PASSWORD_HASHER"],
        )
    c = app.test_client()
    c.post("/login", data={"username": "ph.admin", "password": "correct-Horse-battery-9"})
    assert "Sillerby" in c.get("/admin/audit").get_data(as_text=True)
