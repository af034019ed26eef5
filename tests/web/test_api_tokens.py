"""API tokens: created by the user or an admin, shown once, revocable, stored only hashed."""

import re

from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import ApiToken, AuditEvent

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


def test_admin_issues_a_token_for_another_user(app, as_role, pharmacy):
    c = as_role("admin")
    resp = c.post(f"/admin/users/{pharmacy['pharmacist']}/token", data={"name": "lab system"})
    assert resp.status_code == 200
    token = _token(resp.get_data(as_text=True))
    ok = app.test_client().post(WEIGHT, json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
        assert event.actor == "admin" and event.new["owner"] == "pharmacist"


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
