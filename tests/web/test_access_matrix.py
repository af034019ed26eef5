"""Walks every route × every role and checks allowed / forbidden against the one policy."""

import pytest

from pharmacy import access
from tests.support import ROLE_USERS, login

ROLES = list(ROLE_USERS)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_route_is_classified(app):
    missing = {ep for ep, _m, _u in _routes(app) if ep not in access.POLICY}
    assert missing == set(), f"routes without an access rule: {sorted(missing)}"
    stale = set(access.POLICY) - {r.endpoint for r in app.url_map.iter_rules()}
    assert stale == set(), f"policy names routes that do not exist: {sorted(stale)}"


def _call(client, method, url):
    if url.startswith("/api/"):
        return client.open(url, method=method, json={})
    return client.open(url, method=method, data={})


def test_route_role_matrix(app, pharmacy):
    failures = []
    for endpoint, method, url in _routes(app):
        rule = access.POLICY[endpoint]
        anon = _call(app.test_client(), method, url)
        if rule == access.PUBLIC:
            ok = anon.status_code not in (401, 403) and "/login" not in anon.headers.get(
                "Location", ""
            )
        elif url.startswith("/api/"):
            ok = anon.status_code == 401
        else:
            ok = anon.status_code == 302 and "/login" in anon.headers["Location"]
        if not ok:
            failures.append((endpoint, method, "anonymous", anon.status_code))
        if rule == access.PUBLIC:
            continue
        for role in ROLES:
            client = app.test_client()
            login(client, role)
            if url.startswith("/api/"):
                client = _api_client(app, role)
            resp = _call(client, method, url)
            allowed = access.allows(rule, frozenset(ROLE_USERS[role]))
            if allowed:
                to_login = "/login" in resp.headers.get("Location", "")
                # Signing out is the one allowed action that ends at the sign-in page.
                good = resp.status_code not in (401, 403) and (
                    endpoint == "auth.logout" or not to_login
                )
            else:
                good = resp.status_code == 403
            if not good:
                failures.append((endpoint, method, role, resp.status_code))
    assert failures == []


def _api_client(app, role):
    from sqlalchemy import select

    from pharmacy.database import unit_of_work
    from pharmacy.models import User
    from pharmacy.services import accounts

    with app.app_context(), unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == role))
        token = accounts.create_api_token(s, user, user, "matrix")

    class Bearer:
        def __init__(self):
            self.c = app.test_client()

        def open(self, url, method, json):
            return self.c.open(
                url, method=method, json=json, headers={"Authorization": f"Bearer {token}"}
            )

    return Bearer()


@pytest.mark.parametrize(
    "role, visible, hidden",
    [
        ("admin", {"admin.users", "admin.audit_trail"}, set()),
        ("pharmacist", {"main.index"}, {"admin.users", "admin.audit_trail"}),
        ("technician", {"main.index"}, {"admin.users"}),
        ("staff", {"main.index"}, {"admin.users", "admin.audit_trail"}),
    ],
)
def test_navigation_follows_the_role(app, pharmacy, role, visible, hidden):
    client = app.test_client()
    login(client, role)
    html = client.get("/").get_data(as_text=True)
    for ep in visible:
        assert f'data-nav="{ep}"' in html
    for ep in hidden:
        assert f'data-nav="{ep}"' not in html


def test_an_id_too_large_for_the_database_is_not_found(app, as_role):
    c = as_role("staff")
    assert c.get(f"/orders/{2**40}").status_code == 404
    assert c.get(f"/orders/{2**31 - 1}").status_code == 404
