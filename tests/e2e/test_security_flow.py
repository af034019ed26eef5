"""Browser journeys of the security hardening: lockout after repeated failures, an
administrator who cannot promote themselves, and a user's own expiring API token."""

import pytest

from tests.support import PASSWORD

pytestmark = pytest.mark.e2e


def _sign_in(page, base, username, password=PASSWORD):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_repeated_wrong_passwords_lock_the_account(page, live_server, pharmacy):
    for _ in range(5):
        _sign_in(page, live_server, "staff", "wrong-password-123")
        assert "Unknown user name or wrong password." in page.content()
    _sign_in(page, live_server, "staff")  # right password, but locked now
    assert "Too many failed sign-ins. Try again in 15 minute(s)." in page.content()
    assert page.locator("[data-testid=current-user]").count() == 0


def test_admin_cannot_grant_themselves_a_role_and_sees_who_granted_what(
    page, live_server, pharmacy
):
    _sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/users/{pharmacy['admin']}")
    assert "Admin — granted" in page.inner_text("[data-testid=role-grants]")
    page.check("input[name=roles][value=pharmacist]")
    page.click("form >> button.primary")
    assert "you cannot grant yourself a role (pharmacist)" in page.content()


def test_a_user_creates_a_token_that_shows_its_expiry(page, live_server, pharmacy):
    _sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/account/tokens")
    page.fill("#name", "balance integration")
    page.click("button.primary")
    assert page.locator("[data-testid=new-token] code").inner_text().startswith("ldn_")
    row = page.locator("table.grid tbody tr").first.inner_text()
    assert "balance integration" in row and "active" in row
    headers = page.locator("table.grid thead").inner_text()
    assert "Expires" in headers
