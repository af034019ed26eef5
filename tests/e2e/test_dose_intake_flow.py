"""Intake by dose (issue 10): a liquid prescription is entered as a dose in mg of the formula's
1 mg/mL solution and printed in mL; a titration is refused until every step can be made, and
then shows as a titration on the prescription, the queue and the order."""

import pytest

from pharmacy.database import unit_of_work
from pharmacy.models import User
from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in
from tests.rx_helpers import make_patient

pytestmark = pytest.mark.e2e


def _new_rx_for(page, live_server, last: str, first: str) -> None:
    sign_in(page, live_server, "staff")
    page.click("nav.mainnav >> text=New prescription")
    page.fill("#q", last.lower())
    page.click("button:has-text('Find patient')")
    page.click(f"text=Enter prescription for {first} {last}")
    page.select_option("#prescriber_id", index=1)


def _field_error(page, name: str) -> str:
    return page.locator(f"[data-field-error='{name}']").inner_text()


@pytest.fixture
def patient(app, pharmacy):
    seed(app)  # the demo formulary: LDN-CAP (0.5-4.5 mg capsules), LDN-SOL (1 mg/mL)
    with app.app_context(), unit_of_work() as s:
        make_patient(s, s.get(User, pharmacy["staff"]), last="Quinn", first="Ada", medications="")


def test_liquid_prescription_is_a_dose_of_the_concentration_made(page, live_server, patient):
    _new_rx_for(page, live_server, "Quinn", "Ada")
    page.select_option("#dosage_form", "oral_solution")
    page.select_option("#formula_id", label="LDN-SOL v1: Naltrexone HCl 1 mg/mL oral solution")
    # The old habit: the dose typed as the strength. The formula is made at 1 mg/mL.
    page.fill("#strength_mg", "4.5")
    page.fill("#dose_mg", "4.5")
    page.fill("#quantity", "150")
    page.fill("#indication", "Multiple sclerosis")
    page.click("button:has-text('Enter prescription')")
    assert _field_error(page, "strength_mg") == "LDN-SOL v1 is made at 1 mg/mL, not 4.5 mg/mL"
    # A dose an oral syringe cannot measure to within 5 %.
    page.fill("#strength_mg", "")
    page.fill("#dose_mg", "0.33")
    page.click("button:has-text('Enter prescription')")
    assert "9.1 % off" in _field_error(page, "dose_mg")
    page.fill("#dose_mg", "4.5")
    page.click("button:has-text('Check screening')")
    assert (
        page.locator("[data-testid=directions-preview]").inner_text()
        == "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime."
    )
    page.click("button:has-text('Enter prescription')")
    page.wait_for_selector("[data-testid=rx-number]")
    assert (
        "Naltrexone HCl 1 mg/mL oral solution"
        in page.locator("[data-testid=medicine]").inner_text()
    )
    assert page.locator("[data-testid=dose]").inner_text() == "4.5 mg, 1 dose a day"
    assert (
        page.locator("[data-testid=directions]").inner_text()
        == "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime."
    )
    rx_number = page.locator("[data-testid=rx-number]").inner_text()
    page.click(f"a:has-text('{rx_number}-01')")
    assert "1 mg/mL oral solution" in page.locator("[data-testid=medicine]").inner_text()
    assert "4.5 mg/mL" not in page.content()
    page.screenshot(path="/tmp/b1_liquid_rx.png", full_page=True)


def test_titration_is_refused_until_each_step_can_be_made(page, live_server, patient):
    _new_rx_for(page, live_server, "Quinn", "Ada")
    page.select_option("#formula_id", label="LDN-CAP v1: Naltrexone HCl capsules (LDN), MCC filler")
    page.fill("#dose_mg", "4.5")
    page.fill("#quantity", "60")
    page.fill("#indication", "Hashimoto's thyroiditis")
    page.fill("#titration", "0.25 mg for 7 days\n3 mg for 14 days")
    page.click("button:has-text('Enter prescription')")
    error = _field_error(page, "titration")
    assert error.startswith("step 1: 0.25 mg is not a whole number of 4.5 mg capsules")
    assert "LDN-CAP v1 makes capsules of 0.5–4.5 mg only" in error
    page.fill("#titration", "1.5 mg for 14 days\n3 mg for 14 days")
    page.click("button:has-text('Enter prescription')")
    page.wait_for_selector("[data-testid=rx-number]")
    rx_number = page.locator("[data-testid=rx-number]").inner_text()
    medicine = page.locator("[data-testid=medicine]").inner_text()
    assert medicine == "Naltrexone HCl 1.5 mg, 3 mg and 4.5 mg capsule"
    steps = page.locator("[data-testid=titration-steps]").inner_text()
    assert "Days 1–14: 1 capsule (1.5 mg) once daily, from 1.5 mg capsules" in steps
    assert "From day 29: 1 capsule (4.5 mg) once daily (maintenance)" in steps
    directions = page.locator("[data-testid=directions]").inner_text()
    assert directions.startswith("Follow the titration schedule")
    page.screenshot(path="/tmp/b1_titration_rx.png", full_page=True)
    page.click("nav.mainnav >> text=Queue")
    row = page.locator("[data-queue=received] tr", has_text=f"{rx_number}-01")
    assert "4.5 mg capsule, 4.5 mg a dose" in row.inner_text()
    assert row.locator("[data-testid=titration-badge]").inner_text() == "titration"
    row.locator(f"text={rx_number}-01").click()
    assert page.locator("[data-testid=titration-badge]").inner_text() == "titration"
    assert "From day 29" in page.locator("[data-testid=titration-steps]").inner_text()
