"""The front desk attaches the faxed prescription on the prescription's page, the bench the
certificate of analysis on the lot's page; a file that is not what it claims is refused by
the field, and a rescan becomes version 2 with version 1 kept."""

import pytest

from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_attach_the_original_prescription_and_a_certificate(
    page, live_server, app, pharmacy, tmp_path
):
    ids = seed(app)
    order_id = make_order(app)
    fake = tmp_path / "fax.pdf"
    fake.write_bytes(b"MZ this is not a PDF")
    scan = tmp_path / "fax-0412.pdf"
    scan.write_bytes(PDF)
    rescan = tmp_path / "rescan.pdf"
    rescan.write_bytes(PDF + b"% rescan\n")

    sign_in(page, live_server, "staff")
    page.click("nav.mainnav >> text=Queue")
    page.goto(f"{live_server}/orders/{order_id}")
    page.locator("dd a[href*='/prescriptions/']").first.click()
    page.wait_for_selector("[data-testid=attachments]")
    assert page.locator("[data-testid=no-attachments]").is_visible()
    page.set_input_files("#attachment-file", str(fake))
    page.click("button:has-text('Attach')")
    assert "is not a PDF, PNG, JPEG or TIFF" in page.locator("[data-field-error=file]").inner_text()

    page.set_input_files("#attachment-file", str(scan))
    page.fill("#attachment-note", "faxed by Dr Rivera")
    page.click("button:has-text('Attach')")
    page.wait_for_selector("[data-attachment-version='1']")
    page.set_input_files("#attachment-file", str(rescan))
    page.click("button:has-text('Attach')")
    page.wait_for_selector("[data-attachment-version='2']")
    assert "fax-0412.pdf" in page.locator("[data-attachment-version='1']").inner_text()
    href = page.locator("[data-attachment-version='2'] a", has_text="Download").get_attribute(
        "href"
    )
    resp = page.request.get(live_server + href)
    assert resp.status == 200 and resp.body() == PDF + b"% rescan\n"
    page.click("text=Sign out")

    lot_id = next(iter(ids["lots"].values()))
    sign_in(page, live_server, "technician")
    page.click("nav.mainnav >> text=Inventory")
    page.goto(f"{live_server}/inventory/lots/{lot_id}")
    page.set_input_files("#attachment-file", str(scan))
    page.click("button:has-text('Attach')")
    page.wait_for_selector("[data-attachment-version='1']")
    assert "Certificate of analysis" in page.locator("[data-testid=attachments] h2").inner_text()
