"""A pharmacist records a new technician's initial compounding training on the Training page;
the table then shows it current for compounding and not for release."""

from datetime import date, timedelta

import pytest

from pharmacy.database import unit_of_work
from pharmacy.services import accounts
from tests.e2e.test_navigation import sign_in
from tests.support import FAST_HASHER, PASSWORD

pytestmark = pytest.mark.e2e


def test_record_training(page, live_server, app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        accounts.create_user(
            s,
            "test",
            accounts.NewUser("newtech", "Nina Newtech", "NN", PASSWORD, ("technician",)),
            FAST_HASHER,
        )
    sign_in(page, live_server, "pharmacist")
    page.click("nav.mainnav >> text=Training")
    row = page.locator("[data-person=newtech]")
    assert row.locator("[data-task=compounding]").get_attribute("data-current") == "false"
    page.select_option("#user_id", label="Nina Newtech")
    page.select_option("#task", "compounding")
    page.select_option("#kind", "annual")
    page.fill("#completed_on", (date.today() - timedelta(days=2)).isoformat())
    page.click("button:has-text('Record training')")
    assert "initial training recorded first" in page.locator("[data-field-error=kind]").inner_text()
    page.select_option("#kind", "initial")
    page.fill("#notes", "SOP-COMP-4, observed by PC")
    page.click("button:has-text('Record training')")
    page.wait_for_selector("text=Training recorded")
    row = page.locator("[data-person=newtech]")
    assert row.locator("[data-task=compounding]").get_attribute("data-current") == "true"
    assert row.locator("[data-task=release]").get_attribute("data-current") == "false"
