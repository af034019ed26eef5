"""LDN compounding pharmacy back office."""

from __future__ import annotations

import logging

from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import current_user

from . import access, config
from .database import configure_sqlite
from .extensions import csrf, db, login_manager, migrate

security_log = logging.getLogger("pharmacy.security")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config.load(app.instance_path))
    if test_config:
        app.config.update(test_config)
    config.check_database_url(app.config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    _init_login(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)

    from .errors import register_error_handlers
    from .web import register_blueprints

    register_blueprints(app)
    register_error_handlers(app)
    _init_guards(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = None  # the server-side session row is the control

    @login_manager.user_loader
    def load_user(token: str):
        from .services.accounts import load_session

        if request.path.startswith("/api/"):
            return None  # the API accepts bearer tokens only, never the browser cookie

        user, why = load_session(
            db.session,
            token,
            app.config["SESSION_IDLE_TIMEOUT"],
            app.config["SESSION_ABSOLUTE_TIMEOUT"],
        )
        if db.session.dirty:
            db.session.commit()  # session bookkeeping only (last seen / expiry)
        if why == "expired":
            g.session_expired = True
        return user

    @login_manager.request_loader
    def load_api_user(req):
        if not req.path.startswith("/api/"):
            return None
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        from .services.accounts import user_for_api_token

        user = user_for_api_token(db.session, header[len("Bearer ") :].strip())
        if db.session.dirty:
            db.session.commit()
        if user is not None:
            g.api_user = True
        return user


def _init_guards(app: Flask) -> None:
    @app.before_request
    def enforce_access():
        rule = access.rule_for(request.endpoint)
        if rule == access.PUBLIC:
            return None
        if request.path.startswith("/api/") and not request.headers.get("Authorization"):
            # The API signs in only with a bearer token; a browser cookie is not enough there.
            security_log.info("api request without token: %s", request.path)
            abort(401, "Send an API token as 'Authorization: Bearer <token>'.")
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                abort(401, "The API token is unknown, revoked, or its user is disabled.")
            if g.get("session_expired"):
                flash(
                    "Your session expired after a period of inactivity. Sign in again.", "warning"
                )
            session.pop("_user_id", None)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not access.allows(rule, current_user.roles):
            security_log.warning(
                "forbidden: user=%s endpoint=%s", current_user.id, request.endpoint
            )
            abort(403, "Your role does not allow this page.")
        return None

    @app.before_request
    def keep_session_alive():
        session.permanent = True

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if current_user and current_user.is_authenticated:
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.context_processor
    def navigation():
        roles = current_user.roles if current_user.is_authenticated else frozenset()
        return {"nav_items": access.nav_items(roles)}
