"""Equipment: balances with readability, minimum weighable quantity and calibration due date."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Balance
from ..services import equipment as service
from .forms import apply_errors
from .inventory import format_quantity
from .inventory_forms import BalanceForm

bp = Blueprint("equipment", __name__, url_prefix="/equipment")

PAGE_SIZE = 50


def _data(form: BalanceForm) -> service.BalanceData:
    return service.BalanceData(
        name=form.name.data or "",
        readability_mg=form.readability_mg.data,
        mwq_mg=form.mwq_mg.data,
        calibration_due=form.calibration_due.data,
        notes=form.notes.data or "",
        active=bool(form.active.data),
        port=form.port.data or "",
        protocol=form.protocol.data or "",
    )


@bp.route("/balances")
def balances():
    page = service.list_balances(
        db.session, max(1, request.args.get("page", 1, type=int) or 1), PAGE_SIZE
    )
    today = date.today()
    return render_template(
        "equipment/balances.html",
        page=page,
        today=today,
        problems={b.id: service.balance_problems(b, today) for b in page.items},
    )


@bp.route("/balances/new", methods=["GET", "POST"])
def new_balance():
    form = BalanceForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                balance = service.create_balance(s, current_user, _data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Balance {balance.name} added.", "success")
            return redirect(url_for("equipment.balances"))
    elif request.method == "POST":
        status = 422
    return render_template("equipment/balance_form.html", form=form, balance=None), status


@bp.route("/balances/<int:balance_id>", methods=["GET", "POST"])
def edit_balance(balance_id: int):
    row = db.session.get(Balance, balance_id) or abort(404)
    form = BalanceForm(obj=row) if request.method == "GET" else BalanceForm()
    if request.method == "GET":
        form.readability_mg.data = format_quantity(row.readability_mg)
        form.mwq_mg.data = format_quantity(row.mwq_mg)
        form.calibration_due.data = row.calibration_due.isoformat()
        form.port.data = row.port or ""
        form.protocol.data = row.protocol or ""
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                service.update_balance(s, current_user, row, _data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Balance {row.name} saved.", "success")
            return redirect(url_for("equipment.balances"))
    elif request.method == "POST":
        status = 422
    return render_template("equipment/balance_form.html", form=form, balance=row), status


def _log_page(row: Balance, errors=None, status=200):
    checks, calibrations = service.history(db.session, row.id)
    return render_template(
        "equipment/balance_log.html",
        balance=row,
        checks=checks,
        calibrations=calibrations,
        problems=service.balance_problems(row, date.today()),
        errors=errors or {},
        form=request.form,
    ), status


@bp.route("/balances/<int:balance_id>/log")
def balance_log(balance_id: int):
    return _log_page(db.session.get(Balance, balance_id) or abort(404))


@bp.route("/balances/<int:balance_id>/check", methods=["POST"])
def daily_check(balance_id: int):
    row = db.session.get(Balance, balance_id) or abort(404)
    f = request.form
    try:
        with unit_of_work() as s:
            check = service.record_daily_check(
                s,
                current_user,
                row,
                f.get("nominal_mg"),
                f.get("reading_mg"),
                f.get("tolerance_mg"),
            )
            passed = check.passed
    except ValidationFailed as exc:
        return _log_page(row, {e.field: e.message for e in exc.errors}, 422)
    if passed:
        flash("Daily check passed.", "success")
    else:
        flash(
            f"Daily check failed: balance {row.name} is out of service until calibrated.", "error"
        )
    return redirect(url_for("equipment.balance_log", balance_id=row.id))


@bp.route("/balances/<int:balance_id>/calibration", methods=["POST"])
def calibration(balance_id: int):
    row = db.session.get(Balance, balance_id) or abort(404)
    f = request.form
    try:
        with unit_of_work() as s:
            service.record_calibration(
                s,
                current_user,
                row,
                f.get("calibrated_on"),
                f.get("next_due"),
                f.get("performed_by", ""),
                f.get("certificate", ""),
            )
    except ValidationFailed as exc:
        return _log_page(row, {e.field: e.message for e in exc.errors}, 422)
    flash(f"Calibration recorded; balance {row.name} is in service.", "success")
    return redirect(url_for("equipment.balance_log", balance_id=row.id))
