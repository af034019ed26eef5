"""Error pages and JSON errors: a clear message and the right status, never a stack trace."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, jsonify, render_template, request
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
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
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
        return _answer(422, "Please correct the input", str(exc), [e.as_dict() for e in exc.errors])

    @app.errorhandler(TransitionNotAllowed)
    def transition(exc):
        db.session.rollback()
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
