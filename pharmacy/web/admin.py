"""Administration: users and roles, the pharmacy profile, and the audit trail."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain import bounds
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import ApiToken, AuditEvent, PharmacyProfile, User
from ..services import accounts, audit
from .forms import EditUserForm, PharmacyForm, UserForm, apply_errors
from .reads import PATIENT_ENTITIES, PATIENT_ROLES

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
    tokens = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc())
    ).all()
    return render_template("admin/user_edit.html", form=form, user=user, tokens=tokens), status


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


def _parse_day(name: str):
    value = request.args.get(name)
    if not value:
        return None
    try:
        day = datetime.fromisoformat(value).date()
    except ValueError:
        raise ValidationFailed.single(name, f"'{value}' is not a date (use YYYY-MM-DD)") from None
    problem = bounds.date_problem(day)
    if problem:
        raise ValidationFailed.single(name, problem)
    return day


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
    since, until = _parse_day("since"), _parse_day("until")
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
    # An administrator who does not work with patients manages accounts, not care: patient
    # detail in the trail (names, doses, reasons) is hidden from them; the event itself shows.
    sees_patients = current_user.has_role(*PATIENT_ROLES)
    hidden = {e.id for e in rows if not sees_patients and e.entity in PATIENT_ENTITIES}
    return render_template(
        "admin/audit.html", events=rows, next_args=next_args, args=args, hidden=hidden
    )
