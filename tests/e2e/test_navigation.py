"""Each role signs in through a real browser and sees the navigation its role allows."""

import pytest

from pharmacy.access import nav_items
from tests.support import PASSWORD, ROLE_USERS

pytestmark = pytest.mark.e2e

EXPECTED_NAV = {
    role: [label for _ep, label in nav_items(frozenset(roles))]
    for role, roles in ROLE_USERS.items()
}


def test_the_expected_navigation_is_sensible():
    assert "Users" in EXPECTED_NAV["admin"] and "Users" not in EXPECTED_NAV["pharmacist"]
    assert "Calculator" in EXPECTED_NAV["technician"]
    assert "Calculator" not in EXPECTED_NAV["staff"]


def sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("role", list(EXPECTED_NAV))
def test_each_role_sees_its_navigation(page, live_server, pharmacy, role):
    sign_in(page, live_server, role)
    page.wait_for_selector("[data-testid=current-user]")
    labels = page.locator("nav.mainnav a").all_inner_texts()
    assert labels == EXPECTED_NAV[role]
    if "Users" not in EXPECTED_NAV[role]:
        page.goto(f"{live_server}/admin/users")
        assert "Your role does not allow this page." in page.content()


def test_wrong_password_shows_the_message_next_to_the_field(page, live_server, pharmacy):
    page.goto(f"{live_server}/login")
    page.fill("#username", "staff")
    page.fill("#password", "not-my-password")
    page.click("button[type=submit]")
    assert page.locator("[data-field-error=password]").inner_text() == (
        "Unknown user name or wrong password."
    )


def test_sign_out_returns_to_sign_in(page, live_server, pharmacy):
    sign_in(page, live_server, "admin")
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    assert "You are signed out." in page.content()
