"""The audit trail reads like a logbook: names, local time, old -> new per field, filters, CSV."""

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.models import AuditEvent, User
from pharmacy.services import audit, audit_log
from tests.support import login


def _edit_pharmacy_phone(app):
    c = app.test_client()
    login(c, "admin")
    c.post(
        "/admin/pharmacy",
        data={
            "name": "Test Compounding Pharmacy",
            "address": "1 Test Street, Springfield",
            "phone": "555-0199",
            "licence_number": "LIC-1",
            "default_label_stock": "avery-5163",
        },
    )
    return c


def test_logbook_shows_names_words_and_old_to_new(app, pharmacy):
    app.config["TIMEZONE"] = "America/Chicago"
    c = _edit_pharmacy_phone(app)
    html = c.get("/admin/audit?action=pharmacy.update").get_data(as_text=True)
    assert "Admin User (admin)" in html  # the name, not a user id
    assert "Pharmacy details changed" in html and "pharmacy.update</td>" not in html
    assert "<del>555-0100</del> → <ins>555-0199</ins>" in html
    assert "Times are local (CST)" in html
    with app.app_context():
        at = app.extensions["sqlalchemy"].session.scalar(
            select(AuditEvent.at).where(AuditEvent.action == "pharmacy.update")
        )
        chicago = audit_log.local(at)
    assert chicago.utcoffset().total_seconds() == -6 * 3600  # Chicago in winter
    assert chicago.strftime("%Y-%m-%d %H:%M") in html


def test_filter_by_user_and_csv_export(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        tech = s.scalar(select(User).where(User.username == "technician"))
        audit.record(s, tech, "balance.update", "balance", 1, {"mwq_mg": "100"}, {"mwq_mg": "120"})
        audit.record(s, "system", "balance.update", "balance", 1, {"notes": ""}, {"notes": "x"})
        tech_id = tech.id
    c = app.test_client()
    login(c, "admin")
    html = c.get(f"/admin/audit?user_id={tech_id}&entity=balance").get_data(as_text=True)
    assert html.count("data-event=") == 1 and "Mwq (mg)" in html
    body = c.get(f"/admin/audit.csv?user_id={tech_id}&entity=balance").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["who"], r["what"], r["field"], r["old"], r["new"]) for r in rows] == [
        ("Technician User (technician)", "Balance changed", "Mwq (mg)", "100", "120")
    ]


def test_patient_detail_is_hidden_from_an_administrator():
    changes = audit_log.changes({"phone": "555-1"}, {"phone": "555-2"}, show_detail=False)
    assert [(c.field, c.old, c.new) for c in changes] == [("Phone", "hidden", "hidden")]
    shown = audit_log.changes({"dosage_form": "capsule"}, {"dosage_form": "oral_solution"})
    assert (shown[0].old, shown[0].new) == ("capsule", "oral solution")
    when = datetime(2026, 1, 5, 12, 0, tzinfo=UTC).isoformat()
    assert audit_log.changes(None, {"released_at": when})[0].old == "—"


def test_records_and_references_are_named(app, pharmacy):
    from tests.batch_helpers import seed

    seed(app)
    with app.app_context():
        from pharmacy.extensions import db

        entries, _next = audit_log.page(
            db.session, audit_log.Filters(action="order.create"), None, 10, True
        )
        rx_entries, _n = audit_log.page(
            db.session, audit_log.Filters(action="prescription.verify"), None, 10, True
        )
    assert entries and all(e.record.startswith("Order RX") for e in entries)
    fields = {c.field: c.new for c in entries[-1].changes}
    assert fields["Prescription"].startswith("Prescription RX")
    assert fields["Created by"] == "Staff User (staff)"
    assert rx_entries[0].who == "Omar Haddad (pharmacist2)"
    assert rx_entries[0].record.startswith("Prescription RX")
