"""Administration: users and roles, the pharmacy profile, and the audit trail."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import AuditEvent, PharmacyProfile, User
from ..services import accounts, audit, print_jobs
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


@bp.route("/printers", methods=["GET", "POST"])
def printers():
    """The CUPS queue that prints each label stock (and letter paper)."""
    stocks = print_jobs.stocks()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        chosen = {code: request.form.get(f"printer_{code}", "") for code, _ in stocks}
        try:
            with unit_of_work() as s:
                print_jobs.set_printers(s, current_user, chosen)
        except ValidationFailed as exc:
            errors = {e.field: e.message for e in exc.errors}
            status = 422
        else:
            flash("Printer settings saved.", "success")
            return redirect(url_for("admin.printers"))
    current = {
        code: row.cups_printer
        for code, row in print_jobs.printers(db.session).items()
        if row.active
    }
    values = (
        request.form
        if request.method == "POST"
        else {f"printer_{k}": v for k, v in current.items()}
    )
    return render_template(
        "admin/printers.html",
        stocks=stocks,
        values=values,
        errors=errors,
        queues=print_jobs.cups_queues(),
    ), status


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
    stmt = select(AuditEvent)
    if args.get("actor"):
        stmt = stmt.where(AuditEvent.actor == args["actor"].strip().lower())
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action.startswith(args["action"].strip()))
    if args.get("entity"):
        stmt = stmt.where(AuditEvent.entity == args["entity"].strip())
    if args.get("entity_id"):
        stmt = stmt.where(AuditEvent.entity_id == args["entity_id"].strip())
    since, until = _parse_day(args.get("since")), _parse_day(args.get("until"))
    if since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(since, time.min))
    if until:
        stmt = stmt.where(AuditEvent.at <= datetime.combine(until, time.max))
    before = args.get("before", type=int)
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    # Keyset pagination: newest first, one page at a time, never an unbounded list.
    rows = db.session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE_SIZE + 1)).all()
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    next_args = dict(args, before=rows[-1].id) if more and rows else None
    return render_template("admin/audit.html", events=rows, next_args=next_args, args=args)
