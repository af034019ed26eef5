"""Tablet at the bench (820 px) and phone at the counter: the navigation folds behind a Menu
button, tables scroll inside their box (never the page), weights and QC forms work."""

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Batch
from tests.batch_helpers import latest_batch, make_order, seed, start_form
from tests.e2e.test_navigation import sign_in
from tests.support import login

pytestmark = pytest.mark.e2e

TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}


def _no_page_scroll_sideways(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _started_batch(app):
    ids = seed(app)
    order_id = make_order(app, quantity=100)
    c = app.test_client()
    login(c, "technician")
    c.post("/batches/new", data=start_form(ids, order_ids=str(order_id)))
    return latest_batch(app)


def test_tablet_menu_tables_and_weights_and_qc(page, live_server, app, pharmacy):
    bid = _started_batch(app)
    page.set_viewport_size(TABLET)
    sign_in(page, live_server, "technician")
    page.wait_for_selector("[data-testid=menu]")
    assert not page.locator("nav.mainnav").is_visible()
    page.click("[data-testid=menu]")
    assert page.locator("nav.mainnav").is_visible()
    page.screenshot(path="/tmp/f_tablet_menu.png", full_page=True)
    page.click("nav.mainnav >> text=Batches")

    page.goto(f"{live_server}/batches/{bid}")
    _no_page_scroll_sideways(page)
    usages = page.locator("table[data-testid=usages]")
    assert usages.evaluate("t => getComputedStyle(t).overflowX") == "auto"

    with app.app_context():
        planned = [(u.id, u.planned_quantity) for u in db.session.get(Batch, bid).lot_usages]
    page.goto(f"{live_server}/batches/{bid}/weights")
    for usage_id, quantity in planned:
        box = page.locator(f"#actual_{usage_id}").bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= TABLET["width"]
        page.fill(f"#actual_{usage_id}", str(quantity))
    _no_page_scroll_sideways(page)
    page.screenshot(path="/tmp/f_tablet_weights.png", full_page=True)
    page.click("button:has-text('Save actual quantities')")
    page.wait_for_selector("text=Actual quantities recorded.")

    page.goto(f"{live_server}/batches/{bid}/qc")
    _no_page_scroll_sideways(page)
    page.fill("#weights", "\n".join(["296"] * 10))
    page.fill("#shell_mg", "96")
    page.fill("#appearance", "White opaque capsules")
    page.check("#appearance_ok")
    page.fill("#units_made", "101")
    page.screenshot(path="/tmp/f_tablet_qc.png", full_page=True)
    page.click("button:has-text('Record quality check')")
    page.wait_for_selector("[data-testid=qc-result]")
    with app.app_context():
        assert db.session.scalar(select(Batch.status).where(Batch.id == bid)) == "awaiting_check"


def test_phone_front_desk_lookup_and_queue(page, live_server, app, pharmacy):
    seed(app)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "staff")
    page.wait_for_selector("[data-tile=ready]")
    _no_page_scroll_sideways(page)
    page.screenshot(path="/tmp/f_phone_dashboard.png", full_page=True)
    page.goto(f"{live_server}/orders/queue")
    _no_page_scroll_sideways(page)
    page.screenshot(path="/tmp/f_phone_queue.png", full_page=True)
    page.click("[data-testid=menu]")
    page.click("nav.mainnav >> text=Look-up")
    page.fill("#q", "ellis")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    _no_page_scroll_sideways(page)
