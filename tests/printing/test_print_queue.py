"""The print queue: a CUPS printer per label stock (admin page), jobs sent with `lp` and their
outcome kept on the print log. The last test prints through a real CUPS server to the cups-pdf
virtual printer and finds the PDF it wrote (.ci/run sets that server up)."""

import glob
import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, IngredientLot, LabelPrint, LabelPrinter
from pharmacy.services import print_queue
from tests.batch_helpers import seed

CUPS_PDF_PRINTER = os.environ.get("CUPS_PDF_PRINTER", "PDF")
CUPS_PDF_DIR = os.environ.get("CUPS_PDF_DIR", "/var/spool/cups-pdf")


def _cups_pdf_missing() -> str | None:
    if shutil.which("lpstat") is None or shutil.which("lp") is None:
        return "no CUPS client (lpstat/lp) on this machine"
    running = subprocess.run(["lpstat", "-r"], capture_output=True, text=True, check=False)
    if "is running" not in running.stdout:
        return "no CUPS server is running (lpstat -r)"
    if CUPS_PDF_PRINTER not in print_queue.cups_queues():
        return f"CUPS has no {CUPS_PDF_PRINTER!r} queue (printer-driver-cups-pdf; see .ci/run)"
    return None


@pytest.fixture
def lot_id(app, pharmacy):
    seed(app)
    with app.app_context():
        return db.session.scalar(select(IngredientLot.id).order_by(IngredientLot.id).limit(1))


def test_printers_are_set_per_stock_on_the_admin_page(app, as_role, lot_id):
    admin = as_role("admin")
    page = admin.get("/admin/printers")
    assert page.status_code == 200 and "thermal-3x2" in page.get_data(as_text=True)
    resp = admin.post("/admin/printers", data={"printer_thermal-3x2": "bad name/x"})
    assert resp.status_code == 422
    assert "a CUPS queue name has no spaces" in resp.get_data(as_text=True)
    resp = admin.post(
        "/admin/printers", data={"printer_thermal-3x2": "Zebra_3x2", "printer_letter": "Office"}
    )
    assert resp.status_code == 302
    assert as_role("technician").get("/admin/printers").status_code == 403
    with app.app_context():
        assert print_queue.printer_for(db.session, "thermal-3x2") == "Zebra_3x2"
        assert print_queue.printer_for(db.session, "letter") == "Office"
        assert print_queue.printer_for(db.session, "thermal-4x2") is None
    admin.post("/admin/printers", data={"printer_thermal-3x2": "", "printer_letter": "Office"})
    with app.app_context():
        assert print_queue.printer_for(db.session, "thermal-3x2") is None
        kept = db.session.scalar(select(LabelPrinter).where(LabelPrinter.stock == "thermal-3x2"))
        assert (kept.cups_printer, kept.active) == ("Zebra_3x2", False)
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "printers.update")
        ).all()
        assert events[0].new == {"thermal-3x2": "Zebra_3x2", "letter": "Office"}
        assert events[1].old == {"thermal-3x2": "Zebra_3x2"}


def test_a_failed_send_is_recorded_and_the_pdf_still_given(app, as_role, lot_id, monkeypatch):
    as_role("admin").post("/admin/printers", data={"printer_thermal-3x2": "Zebra_3x2"})
    monkeypatch.setattr(print_queue.shutil, "which", lambda name: None)
    resp = as_role("technician").post(f"/print/lots/{lot_id}/label", data={"send": "1"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["X-Print-Job"] == "failed"
    with app.app_context():
        row = db.session.scalar(select(LabelPrint).order_by(LabelPrint.id.desc()).limit(1))
        assert (row.printer, row.job_status, row.job_id) == ("Zebra_3x2", "failed", None)
        assert row.job_message == "lp (CUPS client) is not installed"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "document.send_failed")
        )
        assert event.new["printer"] == "Zebra_3x2"
    page = as_role("technician").get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    assert "Zebra_3x2: failed — lp (CUPS client) is not installed" in page


def test_without_send_or_printer_nothing_goes_to_cups(app, as_role, lot_id, monkeypatch):
    def no_lp(*_a, **_k):
        raise AssertionError("lp must not run")

    monkeypatch.setattr(print_queue.subprocess, "run", no_lp)
    tech = as_role("technician")
    resp = tech.post(f"/print/lots/{lot_id}/label", data={"send": "1"})  # no printer set
    assert resp.status_code == 200 and "X-Print-Job" not in resp.headers
    with app.app_context():
        row = db.session.scalar(select(LabelPrint).order_by(LabelPrint.id.desc()).limit(1))
        assert row.printer is None and row.job_status is None


@pytest.mark.cups
def test_prints_through_cups_to_the_cups_pdf_printer(app, as_role, lot_id):
    missing = _cups_pdf_missing()
    if missing:
        pytest.skip(missing)
    as_role("admin").post("/admin/printers", data={"printer_thermal-3x2": CUPS_PDF_PRINTER})
    with app.app_context():
        lot = db.session.get(IngredientLot, lot_id)
        lot_number = lot.lot_number
    resp = as_role("technician").post(
        f"/print/lots/{lot_id}/label", data={"send": "1", "copies": "1"}
    )
    assert resp.status_code == 200
    status, job_id = resp.headers["X-Print-Job"].split()
    assert status == "sent" and job_id.startswith(f"{CUPS_PDF_PRINTER}-")
    with app.app_context():
        row = db.session.scalar(select(LabelPrint).order_by(LabelPrint.id.desc()).limit(1))
        assert (row.printer, row.job_status, row.job_id) == (CUPS_PDF_PRINTER, "sent", job_id)
    # cups-pdf names the file after the job title, which carries the print-log id.
    pattern = os.path.join(CUPS_PDF_DIR, "**", f"LDN-print-{row.id}-lot_label*.pdf")
    found: list[str] = []
    for _ in range(60):
        found = glob.glob(pattern, recursive=True)
        if found and os.path.getsize(found[0]) > 0:
            break
        time.sleep(0.5)
    assert found, f"cups-pdf wrote no {pattern}"
    time.sleep(0.5)  # cups-pdf may still be closing the file
    text = pypdf.PdfReader(io.BytesIO(Path(found[0]).read_bytes())).pages[0].extract_text()
    assert f"LOT {lot_number}" in text
