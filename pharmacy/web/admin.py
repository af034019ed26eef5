"""Administration: users and roles, the pharmacy profile, and the audit trail."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain import bounds
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..localtime import local
from ..models import ApiToken, PharmacyProfile, User
from ..services import accounts, audit, audit_log, print_queue
from .exports import csv_safe
from .forms import EditUserForm, PharmacyForm, UserForm, apply_errors
from .reads import PATIENT_ROLES

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


@bp.route("/printers", methods=["GET", "POST"])
def printers():
    """The CUPS queue that prints each label stock (and letter paper)."""
    stocks = print_queue.stocks()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        chosen = {code: request.form.get(f"printer_{code}", "") for code, _ in stocks}
        try:
            with unit_of_work() as s:
                print_queue.set_printers(s, current_user, chosen)
        except ValidationFailed as exc:
            errors = {e.field: e.message for e in exc.errors}
            status = 422
        else:
            flash("Printer settings saved.", "success")
            return redirect(url_for("admin.printers"))
    current = {
        code: row.cups_printer
        for code, row in print_queue.printers(db.session).items()
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
        queues=print_queue.cups_queues(),
    ), status


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


def _audit_filters() -> audit_log.Filters:
    args = request.args
    user_id = args.get("user_id", type=int)
    if not user_id and args.get("actor"):  # older links named the user by user name
        user_id = db.session.scalar(
            select(User.id).where(User.username == args["actor"].strip().lower())
        )
        user_id = user_id or -1
    return audit_log.Filters(
        user_id=user_id,
        action=args.get("action", "").strip(),
        entity=args.get("entity", "").strip(),
        entity_id=args.get("entity_id", "").strip(),
        since=_parse_day("since"),
        until=_parse_day("until"),
    )


def _sees_patients() -> bool:
    # Patient detail belongs to the pharmacy team; an administrator only sees that it changed.
    return current_user.has_role(*PATIENT_ROLES)


@bp.route("/audit")
def audit_trail():
    filters = _audit_filters()
    entries, next_before = audit_log.page(
        db.session,
        filters,
        request.args.get("before", type=int),
        AUDIT_PAGE_SIZE,
        _sees_patients(),
    )
    args = request.args.to_dict()
    next_args = dict(args, before=next_before) if next_before else None
    users = db.session.execute(select(User.id, User.full_name).order_by(User.full_name)).all()
    return render_template(
        "admin/audit.html",
        events=entries,
        next_args=next_args,
        args=args,
        users=users,
        actions=sorted(audit_log.ACTIONS.items(), key=lambda kv: kv[1]),
        records=sorted(audit_log.RECORDS.items(), key=lambda kv: kv[1]),
        zone=local(datetime.now(UTC)).tzname(),
    )


@bp.route("/audit.csv")
def audit_csv():
    """The filtered trail as a spreadsheet: one row per changed field, oldest first."""
    filters = _audit_filters()
    sees = _sees_patients()

    # Built whole (bounded by EXPORT_LIMIT) rather than streamed: a streamed response keeps
    # the request context, and with it the signed-in user, alive until it is read.
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(audit_log.CSV_COLUMNS)
    for e in audit_log.export(db.session, filters, sees):
        when = e.at.strftime("%Y-%m-%d %H:%M:%S %Z")
        for c in e.changes or [audit_log.Change("", "", "")]:
            row = [when, e.who, e.what, e.record, c.field, c.old, c.new, e.reason]
            w.writerow([csv_safe(v) for v in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )
