"""The CSRF token a page prints, signed once per worker for each session's secret.

Every signed-in page prints one (the sign-out form in the layout). Flask-WTF signs the
session's raw token afresh on each request (key derivation, HMAC, base64): about 60 µs, a
twentieth of a status page. With WTF_CSRF_TIME_LIMIT off (config.py) the signature's time
is never checked, so a token signed earlier for the same raw token and key validates exactly
as a fresh one: it is reused. With a time limit configured, every request signs afresh.
"""

from __future__ import annotations

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

_MAX_ENTRIES = 4096
_signed: dict[tuple[str, str | bytes], str] = {}


def csrf_token() -> str:
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    token = g.get(field)
    if token is not None:
        return token
    raw = session.get(field)
    if raw is None or config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()  # a new raw token is made, or its age matters
    key = (raw, config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key)
    token = _signed.get(key)
    if token is None:
        token = generate_csrf()
        if len(_signed) >= _MAX_ENTRIES:
            _signed.clear()
        _signed[key] = token
    else:
        setattr(g, field, token)  # the request's forms (Flask-WTF) print the same token
    return token


def install(app: Flask) -> None:
    """After CSRFProtect.init_app: templates' csrf_token() is this one."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
