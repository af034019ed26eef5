"""Error pages and JSON errors: a clear message and the right status, never a stack trace."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlparse

from flask import Flask, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .domain.errors import TransitionNotAllowed, ValidationFailed
from .extensions import db

log = logging.getLogger("pharmacy.errors")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _answer(status: int, title: str, message: str, errors: list | None = None):
    if wants_json():
        body = {"errors": errors or [{"field": None, "message": message}]}
        return jsonify(body), status
    return render_template(
        "error.html", status=status, title=title, message=message, errors=errors or []
    ), status


def form_page() -> str | None:
    """The page the submitted form was on (same site only), to send the user back to it."""
    ref = request.referrer
    if not ref or request.method != "POST":
        return None
    parsed, here = urlparse(ref), urlparse(request.host_url)
    if parsed.netloc != here.netloc or parsed.path.startswith(("/login", "/setup")):
        return None
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def plain_error(field: str | None, message: str) -> str:
    """'dose_mg' + 'must be positive' -> 'Dose mg: must be positive' (no internal keys)."""
    from .web.humanize import plain

    message = plain(message)
    if not field:
        return message
    label = field.split(".")[-1].split("[")[0].replace("_", " ").strip().capitalize()
    if message.lower().startswith(label.lower()):
        return message
    first = message.split(" ", 1)[0]
    # A fragment continues the label ("Must be..." -> "must be..."); codes like LDN-SOL stay, and
    # a message written as whole sentences stays as written: it may open with a person's name.
    if first[1:] == first[1:].lower() and not message.rstrip().endswith("."):
        message = f"{message[:1].lower()}{message[1:]}"
    return f"{label}: {message}"


def sign_in_again(page: str | None = None):
    """Signed out mid-form: sign in, then back to the form with what was typed put back."""
    session.pop("_user_id", None)
    flash(
        "Your session expired after a period of inactivity. Sign in again: "
        "what you typed is kept and comes back.",
        "warning",
    )
    target = page or form_page()
    args = {"next": target, "resume": 1} if target else {}
    return redirect(url_for("auth.login", **args))


def back_to_form(page: str, messages: list[str]):
    """A browser form the view did not handle: back to its page, entries restored by forms.js."""
    for m in messages:
        flash(m, "error")
    return redirect(page + "#restore-form", 303)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        page = form_page()
        if not wants_json() and page:
            if not current_user.is_authenticated:
                return sign_in_again(page)
            return back_to_form(
                page,
                [
                    "The form had expired (it was open in an older sign-in). "
                    "What you typed has been kept: check it and submit again."
                ],
            )
        return _answer(
            400,
            "Form expired or incomplete",
            "The form was missing its security token or it expired. "
            "Go back, reload the page and submit it again.",
        )

    @app.errorhandler(ValidationFailed)
    def validation_failed(exc: ValidationFailed):
        db.session.rollback()
        from .web.forms import note_refusal

        note_refusal(exc)
        page = None if wants_json() else form_page()
        if page:
            return back_to_form(page, [plain_error(e.field, e.message) for e in exc.errors])
        return _answer(422, "Please correct the input", str(exc), [e.as_dict() for e in exc.errors])

    @app.errorhandler(TransitionNotAllowed)
    def transition(exc):
        db.session.rollback()
        page = None if wants_json() else form_page()
        if page:
            return back_to_form(page, [str(exc)])
        return _answer(409, "Not allowed now", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _answer(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc):
        db.session.rollback()
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error, reference %s", ref)
        return _answer(
            500,
            "Something went wrong",
            f"Nothing was saved. Tell your administrator the reference {ref}.",
        )
