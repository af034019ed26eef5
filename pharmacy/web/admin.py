"""Administration: users and roles, the pharmacy profile, and the audit trail."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import PharmacyProfile, User
from ..services import accounts, audit
from .forms import EditUserForm, PharmacyForm, TokenForm, UserForm, apply_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 50


@bp.route("/users")
def users():
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                user = accounts.create_user(
                    s,
                    current_user,
                    accounts.NewUser(
                        form.username.data,
                        form.full_name.data,
                        form.initials.data,
                        form.password.data,
                        tuple(form.roles.data or ()),
                    ),
                    current_app.config["PASSWORD_HASHER"],
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"User {user.username} created.", "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 400
    return render_template("admin/user_new.html", form=form), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = EditUserForm()
    status = 200
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
        form.active.data = user.active
    elif form.validate_on_submit():
        try:
            with unit_of_work() as s:
                roles = tuple(form.roles.data or ())
                if set(roles) != set(user.roles):
                    accounts.set_roles(s, current_user, user, roles)
                if form.active.data != user.active:
                    accounts.set_active(
                        s, current_user, user, form.active.data, form.reason.data or ""
                    )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"User {user.username} updated.", "success")
            return redirect(url_for("admin.users"))
    else:
        status = 400
    return render_template(
        "admin/user_edit.html", form=form, user=user, token_form=TokenForm()
    ), status


@bp.route("/users/<int:user_id>/token", methods=["POST"])
def user_token(user_id: int):
    """An administrator issues an API token for another user (e.g. an integration account)."""
    user = db.session.get(User, user_id) or abort(404)
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400, "Say what the token is for.")
    with unit_of_work() as s:
        token = accounts.create_api_token(s, current_user, user, form.name.data)
    return render_template("admin/token_created.html", user=user, token=token)


@bp.route("/pharmacy", methods=["GET", "POST"])
def profile():
    row = db.session.scalar(select(PharmacyProfile).limit(1)) or abort(404)
    form = PharmacyForm(obj=row)
    status = 200
    if form.validate_on_submit():
        with unit_of_work() as s:
            old = audit.snapshot(row)
            for field in ("name", "address", "phone", "licence_number"):
                setattr(row, field, getattr(form, field).data.strip())
            row.default_label_stock = form.default_label_stock.data
            s.flush()
            before, after = audit.changed(old, audit.snapshot(row))
            if after:
                audit.record(
                    s, current_user, "pharmacy.update", "pharmacy_profile", row.id, before, after
                )
        flash("Pharmacy details saved.", "success")
        return redirect(url_for("admin.profile"))
    elif request.method == "POST":
        status = 400
    return render_template("admin/profile.html", form=form), status


def _parse_day(value: str | None):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        abort(400, f"'{value}' is not a date (use YYYY-MM-DD)")


@bp.route("/audit")
def audit_trail():
    args = request.args
    since, until = _parse_day(args.get("since")), _parse_day(args.get("until"))
    rows, more = audit.trail(
        db.session,
        audit.TrailFilter(
            actor=args.get("actor", "").strip().lower(),
            action=args.get("action", "").strip(),
            entity=args.get("entity", "").strip(),
            entity_id=args.get("entity_id", "").strip(),
            since=datetime.combine(since, time.min) if since else None,
            until=datetime.combine(until, time.max) if until else None,
        ),
        before=args.get("before", type=int),
        limit=AUDIT_PAGE_SIZE,
    )
    next_args = dict(args, before=rows[-1].id) if more and rows else None
    return render_template("admin/audit.html", events=rows, next_args=next_args, args=args)
