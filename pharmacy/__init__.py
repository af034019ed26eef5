"""LDN compounding pharmacy back office."""

from __future__ import annotations

import logging

from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.routing import IntegerConverter

from . import access, config
from .database import (
    configure_postgresql,
    configure_sqlite,
    ping_when_idle,
    reads_deferred,
    unit_of_work,
)
from .extensions import csrf, db, login_manager, migrate

security_log = logging.getLogger("pharmacy.security")

_SECURITY_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        (
            "Content-Security-Policy",
            "default-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    )
)
_HSTS = (("strict-transport-security", "Strict-Transport-Security", "max-age=31536000"),)


class DatabaseId(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    # Ids in URLs must fit the databases' 32-bit keys: a larger one is simply not found
    # (PostgreSQL would otherwise fail the query with "integer out of range").
    app.url_map.converters["int"] = DatabaseId
    app.config.update(config.load(app.instance_path))
    if test_config:
        app.config.update(test_config)
    config.check_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # A local SQLite file has no server connection to go stale: no ping. On PostgreSQL the
    # ping on every checkout (one round trip a request) becomes a ping after an idle second.
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    ping = options.pop("pool_pre_ping", False)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    from .web.session_cookie import VerifiedOnceSessionInterface

    app.session_interface = VerifiedOnceSessionInterface()
    _cache_ensure_sync(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    from .web.attachments import allow_attachment_size

    # Before the CSRF check reads the form: only an attachment upload may exceed
    # MAX_CONTENT_LENGTH (up to ATTACHMENT_MAX_BYTES).
    app.before_request(allow_attachment_size)
    csrf.init_app(app)
    from .web.csrf_token import install as install_csrf_token

    install_csrf_token(app)
    _init_login(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        else:
            if ping:
                ping_when_idle(db.engine)
            configure_postgresql(db.engine)  # after the ping: it checks out in autocommit

    from .errors import register_error_handlers
    from .flush_guard import install as install_flush_guard
    from .web import register_blueprints
    from .web.edge import init_edge

    install_flush_guard()
    from .services.audit import install as install_audit_chain

    install_audit_chain()
    init_edge(app)  # before the blueprints' own hooks: bounded values reach every view
    register_blueprints(app)
    register_error_handlers(app)
    _init_guards(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _cache_ensure_sync(app: Flask) -> None:
    """Flask asks, for every hook and view on every request, whether it is a coroutine
    function (inspect, about a dozen times a request): answer once per function."""
    original = app.ensure_sync
    known: dict = {}

    def ensure_sync(func):
        try:
            return known[func]
        except KeyError:
            result = original(func)
            if len(known) < 10_000:
                known[func] = result
            return result
        except TypeError:  # unhashable callable
            return original(func)

    app.ensure_sync = ensure_sync


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

        def load(s, may_write=True):
            return load_session(
                s,
                token,
                app.config["SESSION_IDLE_TIMEOUT"],
                app.config["SESSION_ABSOLUTE_TIMEOUT"],
                may_write=may_write,
            )

        user, why = load(db.session, may_write=False)
        if why == "needs-write":
            # Session bookkeeping only (last seen, at most once a minute / expiry): the read
            # above ran in a reader's transaction, so write it as a unit of work (on SQLite,
            # one that holds the write lock), reading the session row again under it.
            db.session.rollback()
            with unit_of_work() as s:
                user, why = load(s)
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

        token = header[len("Bearer ") :].strip()
        user = user_for_api_token(db.session, token)
        if db.session.dirty:  # last used (at most every 5 minutes): as in load_user above
            db.session.rollback()
            with unit_of_work() as s:
                user = user_for_api_token(s, token)
        if user is not None:
            g.api_user = True
        return user


def _init_guards(app: Flask) -> None:
    @app.before_request
    def readers_do_not_queue():
        # Registered first: runs before enforce_access loads the user. See reads_deferred.
        reads_deferred(True)

    @app.teardown_request
    def end_reads_deferred(_exc):
        reads_deferred(False)

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
            if request.method == "POST":
                from .errors import sign_in_again

                return sign_in_again()  # back to the form afterwards, as typed
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
        if not session.permanent:  # setting it, even to the same value, re-sends the cookie
            session.permanent = True

    @app.after_request
    def security_headers(resp):
        # A header a view set itself wins (setdefault semantics); checked against one set of
        # the names present rather than four scans of the header list.
        headers = resp.headers
        present = {name.lower() for name, _value in headers}
        extra = _HSTS if app.config.get("PRODUCTION") else ()
        # Production is served over HTTPS only (the session cookie is Secure there): HSTS.
        for lowered, name, value in (*_SECURITY_HEADERS, *extra):
            if lowered not in present:
                headers.add(name, value)
        if current_user and current_user.is_authenticated:
            headers["Cache-Control"] = "no-store"
        return resp

    # The navigation depends only on the user's roles and the page (which link is current):
    # rendered once for each, instead of ~15 links built through Jinja on every page.
    navs: dict[tuple, Markup] = {}

    @app.template_global()
    def main_nav() -> Markup:
        roles = current_user.roles if current_user.is_authenticated else frozenset()
        key = (request.script_root, roles, request.endpoint)
        html = navs.get(key)
        if html is None:
            template = app.jinja_env.get_template("_nav.html")
            html = Markup(
                template.render(nav_items=access.nav_items(roles), current_endpoint=key[2])
            )
            if len(navs) < 5000:
                navs[key] = html
        return html

    # URLs that never change between requests (the navigation, the stylesheet) are built once
    # per application root rather than on every page: werkzeug's URL building is not cheap.
    fixed_urls: dict[tuple, str] = {}

    @app.template_global()
    def fixed_url(endpoint: str, **values) -> str:
        """url_for for an absolute endpoint name whose URL depends on nothing in the request."""
        key = (request.script_root, endpoint, *sorted(values.items()))
        url = fixed_urls.get(key)
        if url is None:
            url = fixed_urls[key] = url_for(endpoint, **values)
        return url

    app.extensions["fixed_url"] = fixed_url  # for views: pharmacy.web.fixed_url
