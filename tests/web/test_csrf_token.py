"""The CSRF token pages print is signed once per worker per session secret, and still works."""

from __future__ import annotations

import re
import time

from pharmacy.web import csrf_token as cached

_SIGN_OUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client) -> str:
    resp = client.get("/")
    assert resp.status_code == 200
    return _SIGN_OUT.search(resp.get_data(as_text=True)).group(1)


def test_a_session_prints_one_token_and_it_signs_out(as_role):
    cached._signed.clear()
    pharmacist, technician = as_role("pharmacist"), as_role("technician")
    _token(pharmacist)  # the first page makes the session's raw token
    first = _token(pharmacist)
    assert len(cached._signed) == 1
    time.sleep(1.1)  # a token signed afresh would carry a later time, so differ
    assert _token(pharmacist) == first  # reused, not signed again
    assert _token(technician) != first  # another session, another secret
    # A page whose form Flask-WTF builds first prints that form's token in the layout too
    html = pharmacist.get("/account/password").get_data(as_text=True)
    assert len(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', html)) == 2
    assert len(set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', html))) == 1
    # and it is a valid token: sign-out with exactly this one, no other
    assert pharmacist.post("/logout", data={"csrf_token": "forged"}, csrf=False).status_code == 400
    resp = pharmacist.post("/logout", data={"csrf_token": first}, csrf=False)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert pharmacist.get("/").status_code == 302  # signed out


def test_with_a_time_limit_tokens_are_signed_each_time(app, as_role):
    cached._signed.clear()
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    client = as_role("pharmacist")
    _token(client)
    _token(client)
    assert cached._signed == {}  # the signing time matters: nothing reused
