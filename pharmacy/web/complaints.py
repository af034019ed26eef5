"""Complaints and adverse events: record, review (trace or recall from there), MedWatch PDF."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labels import LabelError, render_medwatch

from ..database import unit_of_work
from ..domain import complaints as rules
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..extensions import db
from ..models import Complaint
from ..services import complaints as service
from .complaint_forms import ComplaintForm, ReviewForm
from .forms import apply_errors

bp = Blueprint("complaints", __name__, url_prefix="/complaints")


@bp.route("/")
def index():
    status = request.args.get("status") or None
    rows = service.list_reports(db.session, status if status in ("open", "reviewed") else None)
    return render_template("complaints/index.html", rows=rows, rules=rules, status=status)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = ComplaintForm()
    if request.method == "GET":
        form.batch_number.data = request.args.get("batch", "")
        form.order_number.data = request.args.get("order", "")
        form.received_on.data = date.today()
        return render_template("complaints/new.html", form=form)
    if not form.validate_on_submit():
        return render_template("complaints/new.html", form=form), 400
    data = service.ReportInput(
        kind=form.kind.data or "",
        severity=form.severity.data or "",
        reporter_name=form.reporter_name.data or "",
        reporter_role=form.reporter_role.data or "",
        event_date=form.event_date.data,
        received_on=form.received_on.data,
        description=form.description.data or "",
        reporter_contact=form.reporter_contact.data or "",
        batch_number=form.batch_number.data or "",
        order_number=form.order_number.data or "",
    )
    try:
        with unit_of_work() as s:
            row = service.record(s, current_user, data)
            row_id = row.id
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return render_template("complaints/new.html", form=form), 422
    flash(f"Report C-{row_id:05d} recorded: a pharmacist reviews it.", "success")
    return redirect(url_for("complaints.show", complaint_id=row_id))


def _complaint(complaint_id: int) -> Complaint:
    return db.session.get(Complaint, complaint_id) or abort(404)


def _show(row: Complaint, status: int = 200, form: ReviewForm | None = None):
    return render_template(
        "complaints/show.html",
        c=row,
        rules=rules,
        form=form or ReviewForm(),
        can_review=current_user.has_role("pharmacist"),
    ), status


@bp.route("/<int:complaint_id>")
def show(complaint_id: int):
    return _show(_complaint(complaint_id))


@bp.route("/<int:complaint_id>/review", methods=["POST"])
def review(complaint_id: int):
    row = _complaint(complaint_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _show(row, 400, form)
    try:
        with unit_of_work() as s:
            held = service.review(
                s, current_user, row, form.action.data or "", form.notes.data or ""
            )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _show(_complaint(complaint_id), 422, form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(_complaint(complaint_id), 409, form)
    row = _complaint(complaint_id)
    if row.review_action == "recall":
        flash(
            f"Batch {row.batch.batch_number} recalled; {len(held)} order(s) put on hold.",
            "success",
        )
    elif row.review_action == "trace":
        flash(
            f"Reviewed: the recipients of batch {row.batch.batch_number} are traced below.",
            "success",
        )
        return redirect(url_for("batches.show", batch_id=row.batch_id) + "#trace")
    else:
        flash("Reviewed.", "success")
    return redirect(url_for("complaints.show", complaint_id=row.id))


@bp.route("/<int:complaint_id>/medwatch.pdf")
def medwatch(complaint_id: int):
    row = _complaint(complaint_id)
    try:
        pdf = render_medwatch(service.medwatch(db.session, row))
    except LabelError as exc:
        abort(422, str(exc))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="medwatch-C-{row.id:05d}.pdf"'},
    )
