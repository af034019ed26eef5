"""A technician works out a capsule batch in the browser and sees the full working."""

import pytest

from pharmacy.database import unit_of_work
from pharmacy.demo import load_demo
from tests.e2e.test_navigation import sign_in
from tests.support import FAST_HASHER

pytestmark = pytest.mark.e2e


def test_calculator_shows_the_working(page, live_server, app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        load_demo(s, FAST_HASHER)
    sign_in(page, live_server, "technician")
    page.click("nav.mainnav >> text=Calculator")
    page.select_option("#lot_id", label=page.locator("#lot_id option").nth(1).inner_text())
    page.fill("#strength_mg", "4.5")
    page.fill("#quantity", "100")
    page.click("button:has-text('Calculate')")
    page.wait_for_selector("#result")
    assert page.locator("[data-result=capsules_to_make]").inner_text() == "102"
    assert "Aliquot" not in page.locator("#result table.kv").inner_text()
    assert page.locator("table.steps tbody tr").count() >= 8
    page.screenshot(path="/tmp/calculator.png", full_page=True)
