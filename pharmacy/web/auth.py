"""Sign-in, sign-out, password change, API tokens and the first-run set-up page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..database import unit_of_work, utcnow
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import ApiToken
from ..services import accounts, signin
from .forms import ChangePasswordForm, LoginForm, SetupForm, TokenForm, apply_errors

bp = Blueprint("auth", __name__)


def _hasher():
    return current_app.config["PASSWORD_HASHER"]


def _unsafe_chars(target: str) -> bool:
    # Browsers drop tabs and newlines and read "\\" as "/", so "/\t/evil.example" or
    # "/\\evil.example" would leave the site; such a `next` is refused outright.
    return any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in target)


def _safe_next(target: str | None) -> str:
    if target and not _unsafe_chars(target):
        parsed = urlparse(target)
        if not parsed.scheme and not parsed.netloc and target.startswith("/"):
            return target
    return url_for("main.index")


def _sign_in(user) -> None:
    flask_session.clear()  # a fresh session on sign-in: no fixation
    with unit_of_work() as s:
        token = accounts.start_session(
            s, user, request.remote_addr, request.headers.get("User-Agent")
        )
    user.session_token = token
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if accounts.user_count(db.session) == 0:
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    headers = {}
    if _unsafe_chars(request.args.get("next", "")):
        abort(400, "The 'next' address contains control characters; sign in from /login.")
    if form.validate_on_submit():
        ip = request.remote_addr or "unknown"
        outcome, why = signin.check(
            db.session,
            form.username.data,
            form.password.data,
            ip,
            signin.Throttle.from_config(current_app.config),
            _hasher(),
        )
        with unit_of_work() as s:
            signin.record(s, form.username.data, ip, outcome, why)
        if outcome.user is not None:
            _sign_in(outcome.user)
            target = _safe_next(request.args.get("next"))
            if request.args.get("resume"):
                target += "#restore-form"  # forms.js puts back what was typed before
            return redirect(target)
        form.password.errors = [outcome.message]
        status = 401
        if outcome.retry_after:
            status, headers = 429, {"Retry-After": str(outcome.retry_after)}
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    with unit_of_work() as s:
        accounts.end_session(s, current_user, current_user.session_token)
    logout_user()
    flask_session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                accounts.change_password(
                    s,
                    current_user,
                    form.current_password.data,
                    form.new_password.data,
                    form.confirm_password.data,
                    current_user.session_token,
                    _hasher(),
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash("Password changed. Your other sign-ins have been ended.", "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/change_password.html", form=form), status


@bp.route("/account/tokens", methods=["GET", "POST"])
def tokens():
    form = TokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                new_token = accounts.create_api_token(
                    s,
                    current_user,
                    current_user,
                    form.name.data,
                    timedelta(days=current_app.config.get("API_TOKEN_DAYS", 90)),
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
    elif request.method == "POST":
        status = 400
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template(
        "auth/tokens.html", form=form, tokens=rows, new_token=new_token, now=utcnow()
    ), status


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int):
    row = db.session.get(ApiToken, token_id)
    if row is None or (row.user_id != current_user.id and not current_user.has_role("admin")):
        abort(404)
    with unit_of_work() as s:
        accounts.revoke_api_token(s, current_user, row)
    flash(f"Token '{row.name}' revoked.", "success")
    if row.user_id != current_user.id:
        return redirect(url_for("admin.edit_user", user_id=row.user_id))
    return redirect(url_for("auth.tokens"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    if accounts.user_count(db.session) > 0:
        abort(404)
    form = SetupForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                user = accounts.first_run(
                    s,
                    accounts.ProfileData(
                        form.name.data,
                        form.address.data,
                        form.phone.data,
                        form.licence_number.data,
                    ),
                    accounts.NewUser(
                        form.username.data,
                        form.full_name.data,
                        form.initials.data,
                        form.password.data,
                        ("pharmacist", "admin"),
                    ),
                    _hasher(),
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            _sign_in(user)
            flash("The pharmacy is set up. Welcome!", "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/setup.html", form=form), status
