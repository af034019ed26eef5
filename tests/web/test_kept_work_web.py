"""A timed-out or stale form goes back to its page (never a bare 400), for forms.js to refill."""

from tests.support import PASSWORD, login


def test_stale_token_while_signed_in_goes_back_to_the_form(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    resp = c.post(
        "/patients/new",
        data={"first_name": "Ada"},
        headers={"Referer": "http://localhost/patients/new"},
        csrf=False,
    )
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/patients/new#restore-form")
    assert "What you typed has been kept" in c.get("/patients/new").get_data(as_text=True)


def test_signed_out_post_goes_to_sign_in_then_back_to_the_form(app, pharmacy):
    c = app.test_client()
    resp = c.post(
        "/patients/new",
        data={"first_name": "Ada"},
        headers={"Referer": "http://localhost/patients/new?x=1"},
    )
    assert resp.status_code == 302
    assert "/login?next=/patients/new?x%3D1&resume=1" in resp.headers["Location"]
    resp = c.post(
        "/login?next=/patients/new&resume=1", data={"username": "staff", "password": PASSWORD}
    )
    assert resp.headers["Location"].endswith("/patients/new#restore-form")


def test_without_a_referring_page_the_message_still_explains(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    resp = c.post("/patients/new", data={"first_name": "Ada"}, csrf=False)
    assert resp.status_code == 400
    assert "security token" in resp.get_data(as_text=True)
