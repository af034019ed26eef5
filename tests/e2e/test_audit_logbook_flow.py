"""An administrator reads the audit trail as a logbook, filters it and exports it."""

from pathlib import Path

import pytest

from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e


def test_admin_filters_the_logbook_and_downloads_csv(page, live_server, app, pharmacy):
    seed(app)
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/pharmacy")
    page.fill("#phone", "555-0199")
    page.click("main button[type=submit]")
    page.click("nav.mainnav >> text=Audit trail")
    page.select_option("select[name=action]", label="Pharmacy details changed")
    page.click("button:has-text('Filter')")
    row = page.locator("tr[data-event]").first
    row.wait_for()
    assert page.locator("tr[data-event]").count() == 1
    text = row.inner_text()
    assert "Admin User (admin)" in text and "Pharmacy details changed" in text
    assert "555-0100" in text and "555-0199" in text
    page.screenshot(path="/tmp/f_audit.png", full_page=True)
    page.select_option("select[name=action]", value="")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("tr[data-event]")
    page.screenshot(path="/tmp/f_audit_all.png", full_page=True)
    with page.expect_download() as dl:
        page.click("[data-testid=audit-csv]")
    body = Path(dl.value.path()).read_text(encoding="utf-8")
    assert body.startswith("when,who,what,record,field,old,new,reason")
    assert "Pharmacy details changed" in body and "Formula drafted" in body
