"""Shared test helpers and constants."""

import re

FAST_HASHER = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
PASSWORD = "correct-Horse-battery-9"
ROLE_USERS = {
    "pharmacist": ("pharmacist",),
    "technician": ("technician",),
    "staff": ("staff",),
    "admin": ("admin",),
}


# The forms and API endpoints that carry an electronic signature (the signer's password).
SIGNED_PATHS = re.compile(
    r"^(/api/v1)?/(prescriptions/\d+/verify|formulas/\d+/approve|batches/\d+/release"
    r"|orders/\d+/final-check)$"
)


def with_signature(path: str, body: dict | None) -> dict | None:
    """The one place tests sign: add the demo password to a signing form or JSON body, unless
    the test sends its own (e.g. a wrong one)."""
    if not SIGNED_PATHS.match(path.split("?")[0]):
        return body
    body = dict(body or {})
    body.setdefault("password", PASSWORD)
    return body


def signoff(password: str = PASSWORD):
    """The signature a service call needs (tests calling services directly)."""
    from pharmacy.services.signatures import SignOff

    return SignOff(password, FAST_HASHER)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def form_error(resp, field: str) -> str | None:
    html = resp.get_data(as_text=True)
    m = re.search(rf'data-field-error="{re.escape(field)}">([^<]*)<', html)
    return m.group(1) if m else None


def e_sign(page, form_selector: str, password: str = PASSWORD) -> None:
    """Fill the electronic-signature password on a signing form (Playwright journeys)."""
    page.fill(f"{form_selector} [data-testid=signature-password]", password)
