"""The signed session cookie, verified once per worker for each distinct cookie value.

Flask verifies the cookie's signature on every request (key derivation, HMAC, base64, zlib,
tagged JSON): as much as the server-side session look-up itself. The result is a pure
function of the cookie value and the secret key, so a value already verified by this worker
is not verified again: its contents are reused and only its age is checked, exactly as
itsdangerous checks it. Nothing about sign-out or idle expiry moves here: both are decided by
the server-side session row, read on every request (services.accounts.load_session).
"""

from __future__ import annotations

import time

from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

_IMMUTABLE = (str, int, float, bool, type(None))


class VerifiedOnceSessionInterface(SecureCookieSessionInterface):
    max_entries = 4096

    def __init__(self) -> None:
        # (cookie value, secret key, fallbacks) -> (signed at, as whole seconds; contents)
        self._verified: dict[tuple, tuple[int, dict]] = {}

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        key = (value, app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._verified.get(key)
        if known is not None:
            signed_at, data = known
            age = int(time.time()) - signed_at
            if age < 0 or age > max_age:  # itsdangerous' SignatureExpired, to the letter
                return self.session_class()
            return self.session_class(data)  # a copy: the cached contents stay as signed
        try:
            data, signed = self.get_signing_serializer(app).loads(
                value, max_age=max_age, return_timestamp=True
            )
        except BadSignature:
            return self.session_class()
        # Only flat, immutable contents are reused: a list (flashed messages) is changed in
        # place by the request that reads it, so such a cookie is verified every time.
        if all(isinstance(v, _IMMUTABLE) for v in data.values()):
            if len(self._verified) >= self.max_entries:
                self._verified.clear()
            self._verified[key] = (int(signed.timestamp()), dict(data))
        return self.session_class(data)
