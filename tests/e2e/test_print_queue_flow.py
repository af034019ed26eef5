"""An admin sets the CUPS printer for a label stock; a technician prints a lot label and the
print log on the lot page shows the job CUPS took (real CUPS with the cups-pdf printer)."""

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import IngredientLot
from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in
from tests.printing.test_print_queue import CUPS_PDF_PRINTER, _cups_pdf_missing

pytestmark = [pytest.mark.e2e, pytest.mark.cups]


def test_admin_sets_a_printer_and_a_label_is_sent(page, live_server, app, pharmacy):
    missing = _cups_pdf_missing()
    if missing:
        pytest.skip(missing)
    seed(app)
    with app.app_context():
        lot_id = db.session.scalar(select(IngredientLot.id).order_by(IngredientLot.id).limit(1))
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/pharmacy")
    page.click("a:has-text('Printers')")
    assert CUPS_PDF_PRINTER in page.locator("[data-testid=cups-queues]").inner_text()
    page.fill("#printer_thermal-3x2", CUPS_PDF_PRINTER)
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Printer settings saved.")
    page.click("button:has-text('Sign out')")

    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/inventory/lots/{lot_id}")
    with page.context.expect_page() as pdf_tab:
        page.click("button:has-text('Print lot label')")
    pdf_tab.value.close()
    page.reload()
    job = page.locator("[data-testid=lot-label] [data-testid=print-job]").first
    assert job.inner_text().startswith(f"{CUPS_PDF_PRINTER}: sent ({CUPS_PDF_PRINTER}-")
