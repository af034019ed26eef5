"""API tokens: created by the user or an admin, shown once, revocable, stored only hashed."""

import re

from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import ApiToken

WEIGHT = "/api/v1/calculations/weight-check"
BODY = {"fill_target_mg": "200", "shell_mg": "60", "gross_weights_mg": ["260"]}


def _token(html):
    return re.search(r"<code>(ldn_[^<]+)</code>", html).group(1)


def test_user_creates_uses_and_revokes_a_token(app, as_role):
    c = as_role("technician")
    resp = c.post("/account/tokens", data={"name": "balance integration"})
    assert resp.status_code == 200
    token = _token(resp.get_data(as_text=True))
    api = app.test_client()
    ok = api.post(WEIGHT, json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.get_json()["passed"] is True
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash != token and len(row.token_hash) == 64
        assert row.last_used_at is not None
        token_id = row.id
    assert c.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    gone = api.post(WEIGHT, json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_an_admin_cannot_mint_a_token_for_another_user(app, as_role, pharmacy):
    from pharmacy.database import unit_of_work
    from pharmacy.domain.errors import ValidationFailed
    from pharmacy.models import User
    from pharmacy.services import accounts

    c = as_role("admin")
    # The old route is gone, and the admin's user page offers no such form.
    assert (
        c.post(f"/admin/users/{pharmacy['pharmacist']}/token", data={"name": "x"}).status_code
        == 404
    )
    assert "Create token" not in c.get(f"/admin/users/{pharmacy['pharmacist']}").get_data(
        as_text=True
    )
    with app.app_context():
        admin = db.session.get(User, pharmacy["admin"])
        victim = db.session.get(User, pharmacy["pharmacist"])
        try:
            with unit_of_work() as s:
                accounts.create_api_token(s, admin, victim, "impersonation")
        except ValidationFailed as exc:
            assert exc.errors[0].field == "owner"
        else:
            raise AssertionError("an admin minted a token for another user")
        assert db.session.scalar(select(ApiToken)) is None


def test_admin_can_revoke_another_users_token_from_their_page(app, as_role, pharmacy):
    owner = as_role("pharmacist")
    owner.post("/account/tokens", data={"name": "lab system"})
    admin = as_role("admin")
    page = admin.get(f"/admin/users/{pharmacy['pharmacist']}").get_data(as_text=True)
    assert "lab system" in page
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    resp = admin.post(f"/account/tokens/{token_id}/revoke")
    assert resp.headers["Location"].endswith(f"/admin/users/{pharmacy['pharmacist']}")
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None


def test_tokens_expire_after_the_configured_days(app, as_role):
    from datetime import timedelta

    from pharmacy.database import utcnow

    app.config["API_TOKEN_DAYS"] = 7
    c = as_role("technician")
    token = _token(c.post("/account/tokens", data={"name": "short"}).get_data(as_text=True))
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        expires = (
            row.expires_at
            if row.expires_at.tzinfo
            else row.expires_at.replace(tzinfo=utcnow().tzinfo)
        )
        assert timedelta(days=6, hours=23) < expires - utcnow() <= timedelta(days=7)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.post(WEIGHT, json=BODY, headers=headers).status_code == 200
    with app.app_context():
        db.session.scalar(select(ApiToken)).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert api.post(WEIGHT, json=BODY, headers=headers).status_code == 401
    assert "expired" in c.get("/account/tokens").get_data(as_text=True)


def test_changing_the_password_revokes_the_users_api_tokens(app, as_role):
    from tests.support import PASSWORD

    c = as_role("technician")
    token = _token(c.post("/account/tokens", data={"name": "before"}).get_data(as_text=True))
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().post(WEIGHT, json=BODY, headers=headers).status_code == 200
    new = "another-Long-passphrase-77"
    resp = c.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert resp.status_code == 302
    assert app.test_client().post(WEIGHT, json=BODY, headers=headers).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(ApiToken)).revoked_reason == "password changed"


def test_the_browser_cookie_does_not_open_the_api(app, as_role):
    c = as_role("pharmacist")
    assert c.post(WEIGHT, json=BODY).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(app, as_role):
    owner = as_role("pharmacist")
    owner.post("/account/tokens", data={"name": "mine"})
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    other = as_role("staff")
    assert other.post(f"/account/tokens/{token_id}/revoke").status_code == 404
