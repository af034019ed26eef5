"""The front desk prints a dispensing label from the order page in a real browser."""

import pytest

from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in
from tests.labels.labels_samples import decode_barcodes
from tests.printing.helpers import filled_order, rx_number

pytestmark = pytest.mark.e2e


def test_staff_prints_a_label_from_the_order_page(page, live_server, app, as_role):
    ids = seed(app)
    order_id, _bid = filled_order(app, as_role, ids)
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/orders/{order_id}")
    card = page.locator("[data-testid=printing]")
    assert "Print dispensing label" in card.inner_text()
    page.screenshot(path="/tmp/order-print-card.png", full_page=True)
    form = card.locator("form[action$='/label']")
    token = form.locator("input[name=csrf_token]").get_attribute("value")
    stocks = form.locator("select[name=stock] option").all_inner_texts()
    assert any("Avery 5163" in s for s in stocks)
    # the form opens the PDF in a new tab; post it the same way, with the browser's session
    resp = page.request.post(
        f"{live_server}/print/orders/{order_id}/label",
        form={"csrf_token": token, "stock": "", "start_position": "1", "reason": ""},
    )
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    assert decode_barcodes(resp.body()) == [f"{rx_number(app, order_id)}-01"]
    page.reload()
    assert "dispensing label" in page.locator("[data-testid=print-log]").inner_text()
