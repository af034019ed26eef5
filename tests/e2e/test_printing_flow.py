"""The front desk prints a dispensing label from the order page in a real browser."""

import pytest

from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in
from tests.labels.labels_samples import (
    decode_barcodes,
    decode_qr,
    font_sizes,
    page_sizes,
    pdf_text,
)
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


def _click_print(page, form) -> bytes:
    """Press the form's own print button and return the PDF the server sent to the new tab.

    The browser's PDF viewer hides the bytes, so the request goes through a route that
    passes it on unchanged and keeps a copy of the answer."""
    bodies: list[tuple[int, str, bytes]] = []

    def keep(route):
        response = route.fetch()
        bodies.append((response.status, response.headers["content-type"], response.body()))
        route.fulfill(response=response)

    page.context.route("**/print/**", keep)
    try:
        with page.context.expect_page() as tab:
            form.locator("button[type=submit]").click()
        tab.value.wait_for_load_state()
        tab.value.close()
    finally:
        page.context.unroute("**/print/**", keep)
    [(status, content_type, body)] = bodies
    assert status == 200, body[:500]
    assert content_type == "application/pdf"
    return body


def test_label_and_worksheet_printed_with_the_page_buttons_say_what_they_must(
    page, live_server, app, as_role
):
    ids = seed(app)
    order_id, batch_id = filled_order(app, as_role, ids)
    rx = rx_number(app, order_id)

    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/orders/{order_id}")
    card = page.locator("[data-testid=printing]")
    label = _click_print(page, card.locator("form[action$='/label']"))
    text = pdf_text(label)
    for expected in (
        "Take one at bedtime.",
        "Take at bedtime unless directed otherwise.",  # the formula's labelling note
        "Store at room temperature 20-25 °C, dry",
        "Keep out of reach of children",
        "cough or diarrhea medicines, methadone or buprenorphine",
    ):
        assert expected in text, expected
    assert min(font_sizes(label, "Take one at bedtime.")) >= 10
    assert min(font_sizes(label, "Do not use after")) >= 8
    assert decode_barcodes(label) == [f"{rx}-01"]

    page.context.clear_cookies()  # sign out
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/batches/{batch_id}")
    card = page.locator("[data-testid=printing]")
    worksheet = _click_print(page, card.locator("form[action$='/worksheet']"))
    text = pdf_text(worksheet, upright=True)
    for expected in (
        "Compounding method (from the master formulation record)",
        "Triturate the API with an equal portion of MCC by geometric dilution.",
        "Done by Checked by",
        "Result: PASS",
    ):
        assert expected in text, expected
    container = _click_print(page, card.locator(f"form[action$='/batches/{batch_id}/label']"))
    assert page_sizes(container) == [(216.0, 144.0)]  # the 3 x 2 in roll
    with app.app_context():
        from pharmacy.extensions import db
        from pharmacy.models import Batch

        assert decode_qr(container) == [db.session.get(Batch, batch_id).batch_number]
    page.reload()
    log = page.locator("[data-testid=print-log]").inner_text()
    assert "worksheet" in log and "batch label" in log
