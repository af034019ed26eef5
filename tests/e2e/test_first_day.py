"""A first day that guides: after set-up the dashboard lists what is missing before the first
batch, in order, each step a link; the list goes once everything is in place."""

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.demo import load_demo
from pharmacy.models import Ingredient
from tests.support import FAST_HASHER

pytestmark = pytest.mark.e2e


def test_set_up_then_checklist_guides_until_a_batch_is_possible(page, live_server, app):
    page.goto(f"{live_server}/")
    page.wait_for_url("**/setup")
    for field, value in {
        "#name": "Lakeside Compounding",
        "#address": "2 Lake Road, Springfield",
        "#phone": "555-0111",
        "#licence_number": "IL-1",
        "#username": "lee",
        "#full_name": "Lee Park",
        "#initials": "LP",
        "#password": "Quiet-orchard-stone-5",
    }.items():
        page.fill(field, value)
    page.click("main button[type=submit]")
    checklist = page.locator("[data-testid=first-day]")
    checklist.wait_for()
    assert "0 of 6 done" in checklist.inner_text()
    steps = page.locator("[data-testid=first-day] li")
    assert [s.get_attribute("data-step") for s in steps.all()] == [
        "ingredient",
        "lot",
        "release",
        "balance",
        "formula",
        "approve",
    ]
    page.screenshot(path="/tmp/f_first_day.png", full_page=True)
    page.click("[data-step=ingredient] a")
    page.wait_for_url("**/inventory/ingredients/new")

    with app.app_context(), unit_of_work() as s:
        load_demo(s, FAST_HASHER)  # ingredients, released lots, a balance, approved formulas
        assert s.scalar(select(Ingredient).where(Ingredient.kind == "api"))
    page.goto(f"{live_server}/")
    page.wait_for_selector("[data-tile]")
    assert page.locator("[data-testid=first-day]").count() == 0
