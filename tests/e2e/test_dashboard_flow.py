"""A pharmacist starts the day on the dashboard, follows a count to the work, and reads the
reports with their charts."""

import pytest

from tests.e2e.test_navigation import sign_in
from tests.web.test_dashboard_reports import demo  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


def test_dashboard_tile_opens_the_work_and_reports_show_charts(page, live_server, demo):  # noqa: F811
    sign_in(page, live_server, "pharmacist")
    page.wait_for_selector("[data-tile=to_verify]")
    assert page.locator("[data-alert=overdue]").is_visible()
    page.screenshot(path="/tmp/f_dashboard.png", full_page=True)
    page.click("[data-tile=to_verify]")
    page.wait_for_url("**/orders/queue?status=received")
    assert page.locator("section[data-queue=received] tbody tr").count() == 1

    page.click("nav.mainnav >> text=Reports")
    page.wait_for_selector("figure[data-chart=qc] svg")
    assert page.locator("figure.chart-card svg").count() == 5
    assert "80.0 % passed" in page.inner_text("[data-testid=summary-qc]")
    page.screenshot(path="/tmp/f_reports.png", full_page=True)
    pdf = page.request.get(live_server + page.get_attribute("[data-testid=report-pdf]", "href"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
    with open("/tmp/f_report.pdf", "wb") as fh:
        fh.write(pdf.body())
