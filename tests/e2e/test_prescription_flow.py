"""Staff enters an LDN prescription, a pharmacist verifies it overriding the opioid finding,
and the front desk finds it by patient name."""

import pytest

from pharmacy.database import unit_of_work
from pharmacy.models import User
from tests.e2e.test_navigation import sign_in
from tests.rx_helpers import make_patient, make_prescriber
from tests.support import e_sign

pytestmark = pytest.mark.e2e


def test_prescription_from_entry_to_verification(page, live_server, app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        staff = s.get(User, pharmacy["staff"])
        make_patient(
            s,
            staff,
            last="Okoro",
            first="James",
            phone="217-555-0173",
            medications="Tramadol 50 mg as needed",
        )
        make_prescriber(s, staff)

    # 1. The front desk enters the prescription and checks the screening before saving.
    sign_in(page, live_server, "staff")
    page.click("nav.mainnav >> text=New prescription")
    page.fill("#q", "okoro")
    page.click("button:has-text('Find patient')")
    page.click("text=Enter prescription for James Okoro")
    assert page.input_value("#when") == "at bedtime"
    page.select_option("#prescriber_id", label="Helen Park, MD (NPI 1234567893)")
    page.fill("#strength_mg", "4.5")
    page.fill("#quantity", "30")
    page.fill("#refills_authorized", "2")
    page.fill("#indication", "Fibromyalgia")
    page.fill("#icd10_code", "M79.7")
    page.fill("#titration", "1.5 mg for 14 days\n3 mg for 14 days")
    page.click("button:has-text('Check screening')")
    preview = page.locator("[data-testid=screening-preview]")
    assert "opioid comedication" in preview.inner_text()
    page.click("button:has-text('Enter prescription')")
    page.wait_for_selector("[data-testid=rx-number]")
    rx_number = page.locator("[data-testid=rx-number]").inner_text()
    assert page.locator("[data-testid=rx-status]").inner_text() == "entered"
    finding = page.locator("li[data-code=opioid_comedication]")
    assert finding.get_attribute("data-severity") == "contraindicated"
    assert "Waiting for a pharmacist" in page.content()
    page.click("text=Sign out")

    # 2. The pharmacist finds it on the queue and verifies it, overriding the opioid finding.
    sign_in(page, live_server, "pharmacist")
    page.click("nav.mainnav >> text=Queue")
    # A "to verify" row opens the prescription itself.
    page.locator("[data-queue=received]").locator(f"text={rx_number}-01").click()
    page.wait_for_selector("[data-testid=rx-number]")
    e_sign(page, "form[action$='/verify']")
    page.click("button:has-text('Override and verify')")
    assert "contraindicated" in page.locator("[data-field-error=override_reason]").inner_text()
    reason = "Patient stopped tramadol 10 days ago; confirmed with Dr Park"
    page.fill("#override_reason", reason)
    e_sign(page, "form[action$='/verify']")
    page.click("button:has-text('Override and verify')")
    page.wait_for_selector("text=verified.")
    assert page.locator("[data-testid=rx-status]").inner_text() == "verified"
    assert page.locator("[data-testid=override-reason]").inner_text() == reason
    assert "Overridden by Pharmacist User" in page.locator("[data-testid=override]").inner_text()
    page.click("text=Sign out")

    # 3. The patient calls; the front desk finds the order by name.
    sign_in(page, live_server, "staff")
    page.click("nav.mainnav >> text=Look-up")
    page.fill("#q", "OKO")
    page.click("button:has-text('Find')")
    results = page.locator("[data-testid=lookup-results]")
    assert f"{rx_number}-01" in results.inner_text()
    assert results.locator("[data-testid=order-status]").inner_text() == "verified"
    page.click(f"text={rx_number}-01")
    assert "received → verified" in page.locator("[data-testid=history]").inner_text()
    page.screenshot(path="/tmp/prescription_flow.png", full_page=True)
