"""Facility logs: storage units and temperatures, holds after an excursion, cleaning log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..database import unit_of_work
from ..domain import facility as rules
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..extensions import db
from ..models import Batch, IngredientLot, StorageHold, StorageUnit, User
from ..services import facility as service

bp = Blueprint("facility", __name__, url_prefix="/facility")


def _errors(exc: ValidationFailed) -> dict:
    return {e.field: e.message for e in exc.errors}


def _index(errors=None, status=200):
    units = service.units(db.session)
    latest = {u.id: (service.readings(db.session, u.id, 1) or [None])[0] for u in units}
    holds = [service.describe(db.session, h) for h in service.open_holds(db.session)]
    return render_template(
        "facility/index.html",
        units=units,
        latest=latest,
        holds=holds,
        ranges={k: rules.range_text(k) for k in rules.STORAGE_KINDS},
        errors=errors or {},
        form=request.form,
    ), status


@bp.route("/")
def index():
    return _index()


@bp.route("/units", methods=["POST"])
def new_unit():
    try:
        with unit_of_work() as s:
            unit = service.create_unit(
                s, current_user, request.form.get("name", ""), request.form.get("kind", "")
            )
    except ValidationFailed as exc:
        return _index(_errors(exc), 422)
    flash(f"Storage unit {unit.name} added.", "success")
    return redirect(url_for("facility.unit", unit_id=unit.id))


def _unit_page(unit: StorageUnit, errors=None, status=200):
    placed = service.contents(db.session, unit.id)
    lots = {p.lot_id: db.session.get(IngredientLot, p.lot_id) for p in placed if p.lot_id}
    batches = {p.batch_id: db.session.get(Batch, p.batch_id) for p in placed if p.batch_id}
    readings = service.readings(db.session, unit.id)
    users = {
        u.id: u
        for u in db.session.query(User).filter(User.id.in_({r.read_by_id for r in readings}))
    }
    return render_template(
        "facility/unit.html",
        unit=unit,
        readings=readings,
        users=users,
        placed=placed,
        lots=lots,
        batches=batches,
        allowed=rules.range_text(unit.kind),
        errors=errors or {},
        form=request.form,
    ), status


@bp.route("/units/<int:unit_id>")
def unit(unit_id: int):
    return _unit_page(db.session.get(StorageUnit, unit_id) or abort(404))


@bp.route("/units/<int:unit_id>/readings", methods=["POST"])
def reading(unit_id: int):
    row = db.session.get(StorageUnit, unit_id) or abort(404)
    try:
        with unit_of_work() as s:
            reading, holds = service.record_reading(
                s, current_user, row, request.form.get("celsius"), request.form.get("note", "")
            )
            status, held = reading.status, len(holds)
    except ValidationFailed as exc:
        return _unit_page(row, _errors(exc), 422)
    if status == "excursion" and held:
        flash(
            f"Temperature excursion recorded: {held} lot(s) or batch(es) stored here are on hold "
            "until a pharmacist decides.",
            "warning",
        )
    elif status == "excursion":
        flash(
            "Temperature excursion recorded; nothing recorded as stored here was held.", "warning"
        )
    else:
        flash(f"Reading recorded ({status.replace('_', ' ')}).", "success")
    return redirect(url_for("facility.unit", unit_id=row.id))


@bp.route("/units/<int:unit_id>/place", methods=["POST"])
def place(unit_id: int):
    row = db.session.get(StorageUnit, unit_id) or abort(404)
    try:
        with unit_of_work() as s:
            service.place(s, current_user, row, request.form.get("code", ""))
    except ValidationFailed as exc:
        return _unit_page(row, _errors(exc), 422)
    flash(f"Stored in {row.name}.", "success")
    return redirect(url_for("facility.unit", unit_id=row.id))


@bp.route("/holds/<int:hold_id>", methods=["POST"])
def decide_hold(hold_id: int):
    hold = db.session.get(StorageHold, hold_id) or abort(404)
    try:
        with unit_of_work() as s:
            service.decide(
                s,
                current_user,
                hold,
                request.form.get("decision", ""),
                request.form.get("reason", ""),
            )
    except ValidationFailed as exc:
        return _index({f"{k}-{hold_id}": v for k, v in _errors(exc).items()}, 422)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _index(status=409)
    flash("Decision recorded.", "success")
    return redirect(url_for("facility.index"))


@bp.route("/cleaning", methods=["GET", "POST"])
def cleaning():
    errors, status = {}, 200
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                service.record_cleaning(
                    s,
                    current_user,
                    request.form.get("area", ""),
                    request.form.get("agent", ""),
                    request.form.get("note", ""),
                )
        except ValidationFailed as exc:
            errors, status = _errors(exc), 422
        else:
            flash("Cleaning recorded.", "success")
            return redirect(url_for("facility.cleaning"))
    log = service.cleaning_log(db.session)
    users = {
        u.id: u for u in db.session.query(User).filter(User.id.in_({r.done_by_id for r in log}))
    }
    return render_template(
        "facility/cleaning.html", log=log, users=users, errors=errors, form=request.form
    ), status
