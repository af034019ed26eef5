"""At the bench: a technician receives a lot by scanning its GS1 barcode (keyboard wedge:
the text and Enter), scans containers at weighing (the wrong lot is refused on the spot), and
takes the API weight from the (simulated) balance; the batch record says captured or typed."""

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.devices.balance_sim import SimulatedBalance
from pharmacy.extensions import db
from pharmacy.models import Balance, BatchLotUsage, IngredientLot
from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e
GTIN = "00300123456785"


def test_receive_by_scan(page, live_server, app, pharmacy):
    seed(app)
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/inventory/lots/new")
    # A GS1 DataMatrix as the scanner types it: symbology id, GS separator, then Enter.
    page.locator("[data-testid=receipt-scan]").type(f"]d201{GTIN}10NTX-77\x1d17280300")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Scanned Naltrexone hydrochloride USP, lot NTX-77")
    assert page.input_value("#lot_number") == "NTX-77"
    assert page.input_value("#expiry") == "2028-03"
    page.fill("#supplier", "Letco")
    page.fill("#manufacturer", "SpecGx")
    page.fill("#quantity", "25")
    page.select_option("#unit", "g")
    page.fill("#assay_percent", "99.8")
    page.select_option("#assay_basis", "as_is")
    page.click("button:has-text('Receive into quarantine')")
    page.wait_for_selector("text=received and quarantined")
    with app.app_context():
        lot = db.session.scalar(select(IngredientLot).where(IngredientLot.lot_number == "NTX-77"))
        assert lot.ingredient.gtin == GTIN and lot.expiry_month_only
        assert lot.expires_on.isoformat() == "2028-03-31"


def test_scan_containers_and_read_the_balance_at_weighing(page, live_server, app, pharmacy):
    ids = seed(app)
    order_id = make_order(app, quantity=100)
    sim = SimulatedBalance("mt-sics", "0.45808", "g")
    sim.start()
    try:
        with app.app_context(), unit_of_work() as s:
            row = s.get(Balance, ids["balance"])
            row.port, row.protocol = sim.url, "mt-sics"
        sign_in(page, live_server, "technician")
        page.goto(f"{live_server}/batches/new")
        page.select_option("#formula_id", value=str(ids["cap"]))
        page.check(f"input[name=order_ids][value='{order_id}']")
        page.click("button:has-text('Start batch')")
        page.wait_for_selector("[data-testid=batch-number]")
        with app.app_context():
            usages = {
                u.role: (u.id, u.lot.lot_number, u.planned_quantity)
                for u in db.session.scalars(select(BatchLotUsage).order_by(BatchLotUsage.id))
            }
        api, lot_number, _ = usages["active"]
        page.click("text=Record actual weights")
        scan = page.locator(f"#scan_{api}")
        scan.type(f"(01){GTIN}(10)WRONG-LOT")
        scan.press("Enter")
        result = page.locator(f"[data-testid=scan-result-{api}]")
        result.filter(has_text="wrong lot").wait_for()
        assert f"this line uses lot {lot_number}" in result.inner_text()
        assert "/weights" in page.url  # Enter did not submit the form
        scan.fill("")
        scan.type(f"]d201{GTIN}10{lot_number}\x1d17300101")
        scan.press("Enter")
        result.filter(has_text="the right container").wait_for()

        page.click(f"[data-testid=read-balance-{api}]")
        page.locator(f"[data-testid=read-result-{api}]").filter(
            has_text="Captured from the balance: 458.08 mg"
        ).wait_for()
        assert page.input_value(f"#actual_{api}") == "458.08"
        for role, (uid, _lot, planned) in usages.items():
            if role != "active":
                page.fill(f"#actual_{uid}", str(planned))
        page.click("button:has-text('Save actual quantities')")
        page.wait_for_selector("text=Actual quantities recorded.")
        assert (
            page.locator(f"[data-testid=weight-source-{api}]").inner_text()
            == "captured from balance"
        )
        filler = usages["filler"][0]
        assert page.locator(f"[data-testid=weight-source-{filler}]").inner_text() == "typed"
        assert page.locator(f"[data-testid=container-scan-{api}]").inner_text() == "scanned"
    finally:
        sim.stop()
