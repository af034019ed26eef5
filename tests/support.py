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


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def form_error(resp, field: str) -> str | None:
    html = resp.get_data(as_text=True)
    m = re.search(rf'data-field-error="{re.escape(field)}">([^<]*)<', html)
    return m.group(1) if m else None
