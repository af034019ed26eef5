"""A technician receives a lot in the browser, a pharmacist releases it, and the inventory
page shows it with its stock."""

import pytest

from pharmacy.database import unit_of_work
from pharmacy.models import User
from pharmacy.services import inventory as inv
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e


def _ingredient(app) -> None:
    with app.app_context(), unit_of_work() as s:
        pharmacist = s.query(User).filter_by(username="pharmacist").one()
        inv.create_ingredient(
            s,
            pharmacist,
            inv.IngredientData(
                name="Naltrexone hydrochloride USP",
                kind="api",
                unit="mg",
                salt_form="hydrochloride",
                molecular_weight="377.86",
                base_molecular_weight="341.40",
                reorder_point="50000",
            ),
        )


def _sign_out(page):
    page.click("text=Sign out")
    page.wait_for_url("**/login")


def test_receive_release_and_see_it_in_inventory(page, live_server, app, pharmacy):
    _ingredient(app)

    sign_in(page, live_server, "technician")
    page.click("nav.mainnav >> text=Inventory")
    page.click("text=Receive a lot")
    page.select_option("#ingredient_id", label="Naltrexone hydrochloride USP (mg)")
    page.fill("#lot_number", "NTX-E2E-1")
    page.fill("#supplier", "PCCA")
    page.fill("#manufacturer", "SpecGx LLC")
    page.fill("#expiry", "2099-03")
    page.fill("#quantity", "25")
    page.select_option("#unit", "g")
    page.fill("#assay_percent", "99.6")
    page.select_option("#assay_basis", "anhydrous")
    # Forgetting the water content of an anhydrous assay is caught, next to the field.
    page.click("button:has-text('Receive into quarantine')")
    assert (
        "required for an anhydrous assay"
        in page.locator("[data-field-error=water_percent]").inner_text()
    )
    page.fill("#water_percent", "0.8")
    page.click("button:has-text('Receive into quarantine')")
    page.wait_for_selector("[data-lot-status=quarantined]")
    assert "quarantined until a pharmacist releases it" in page.content()
    assert "25,000 mg" in page.locator("[data-testid=on-hand]").inner_text()
    assert page.locator("#decision").count() == 0
    lot_url = page.url
    _sign_out(page)

    sign_in(page, live_server, "pharmacist")
    page.goto(lot_url)
    page.select_option("#decision-target", "released")
    page.fill("#decision-reason", "CoA reviewed against specification")
    page.click("button:has-text('Record decision')")
    page.wait_for_selector("[data-lot-status=released]")
    assert page.locator("[data-testid=usable]").is_visible()

    page.click("nav.mainnav >> text=Inventory")
    row = page.locator("[data-testid=stock] tr[data-lot='NTX-E2E-1']")
    assert row.locator("[data-lot-status]").inner_text() == "released"
    assert row.locator("[data-testid=on-hand]").inner_text() == "25,000 mg"
    # 25 000 mg usable is below the 50 000 mg reorder point.
    assert "Naltrexone hydrochloride USP" in page.locator("[data-testid=reorder]").inner_text()
    page.screenshot(path="/tmp/inventory.png", full_page=True)
