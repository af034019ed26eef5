"""Print routes: each loads its record, gathers label data, and answers with an inline PDF.

Refusals: a record in the wrong state -> 409 (DocumentRefused), input or label data that
cannot be printed -> 422 naming the field. Either way nothing is logged.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from labels import LabelError

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Batch, IngredientLot, LabelPrint, Order, Prescription
from ..services import print_jobs, printing, scanning

bp = Blueprint("printing", __name__, url_prefix="/print")


@bp.errorhandler(LabelError)
def label_refused(exc: LabelError):
    db.session.rollback()
    field = getattr(exc, "field", None)
    title = f"Cannot print: {field.replace('_', ' ')}" if field else "Cannot print"
    return render_template(
        "error.html", status=422, title=title, message=str(exc), field=field
    ), 422


@bp.app_template_global()
def print_history(entity: str, entity_id: int) -> list[LabelPrint]:
    """For the print log on other pages, without changing their views."""
    return printing.history(db.session, entity, entity_id)


@bp.app_template_global()
def label_stocks() -> list[tuple[str, str]]:
    return printing.stock_choices()


@bp.app_template_global()
def default_label_stock() -> str:
    return printing.pharmacy_default_stock(db.session)


# --- input ------------------------------------------------------------------------------------


def _int(name: str, default: int) -> int:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d{1,4}", raw):
        raise ValidationFailed.single(name, f"{raw!r} is not a whole number")
    return int(raw)


def _options() -> printing.PrintOptions:
    return printing.PrintOptions(
        stock=request.form.get("stock") or None,
        start_position=_int("start_position", 1),
        copies=_int("copies", 1),
        reason=request.form.get("reason", ""),
        send=request.form.get("send") == "1",
    )


def _date(name: str) -> date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.single(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None


def pdf_response(out: print_jobs.Output) -> Response:
    """The PDF inline, with the print-log rows it created (also used by the JSON API)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", out.filename)
    resp = Response(out.printed.pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="{safe}"'
    resp.headers["X-Print-Log"] = ",".join(str(row.id) for row in out.printed.logs)
    if out.printed.job is not None:
        job = out.printed.job
        resp.headers["X-Print-Job"] = f"{job.status} {job.job_id or ''}".strip()
    return resp


def _locked(model, entity_id: int):
    """The record, row-locked so two first prints cannot both be counted as the original."""
    row = db.session.get(model, entity_id, with_for_update=True, populate_existing=True)
    return row or abort(404)


# --- orders and prescriptions -----------------------------------------------------------------


@bp.route("/orders/<int:order_id>/label", methods=["POST"])
def dispensing_label(order_id: int):
    options = _options()
    with unit_of_work() as s:
        out = print_jobs.dispensing_label(s, current_user, _locked(Order, order_id), options)
    return pdf_response(out)


@bp.route("/orders/<int:order_id>/titration-labels", methods=["POST"])
def titration_labels(order_id: int):
    options, start = _options(), _date("start_date")
    with unit_of_work() as s:
        order = _locked(Order, order_id)
        out = print_jobs.titration_labels(s, current_user, order, options, start)
    return pdf_response(out)


@bp.route("/orders/<int:order_id>/titration-calendar", methods=["POST"])
def titration_calendar(order_id: int):
    options, start = _options(), _date("start_date")
    with unit_of_work() as s:
        order = _locked(Order, order_id)
        out = print_jobs.titration_calendar(s, current_user, order, options, start)
    return pdf_response(out)


@bp.route("/prescriptions/<int:rx_id>/leaflet", methods=["POST"])
def leaflet(rx_id: int):
    options, start = _options(), _date("start_date")
    with unit_of_work() as s:
        out = print_jobs.leaflet(s, current_user, _locked(Prescription, rx_id), options, start)
    return pdf_response(out)


@bp.route("/ready-labels", methods=["POST"])
def ready_labels():
    """The queue board's "print all labels for ready orders"."""
    options = _options()
    with unit_of_work() as s:
        out = print_jobs.ready_labels(s, current_user, options)
    return pdf_response(out)


# --- batches ----------------------------------------------------------------------------------


@bp.route("/batches/<int:batch_id>/label", methods=["POST"])
def batch_label(batch_id: int):
    options = _options()
    with unit_of_work() as s:
        out = print_jobs.batch_label(s, current_user, _locked(Batch, batch_id), options)
    return pdf_response(out)


@bp.route("/batches/<int:batch_id>/worksheet", methods=["POST"])
def worksheet(batch_id: int):
    options = _options()
    with unit_of_work() as s:
        out = print_jobs.worksheet(s, current_user, _locked(Batch, batch_id), options)
    return pdf_response(out)


@bp.route("/lots/<int:lot_id>/label", methods=["POST"])
def lot_label(lot_id: int):
    """The pharmacy's own barcode label for containers of a lot that came without one."""
    from labels.lot import render_lot_label

    options = _options()
    with unit_of_work() as s:
        lot = _locked(IngredientLot, lot_id)
        data = scanning.lot_label_data(lot)
        printed = printing.print_document(
            s,
            current_user,
            "lot_label",
            lot.id,
            lambda job: render_lot_label(data, job.stock, job.start_position, job.copies),
            options,
        )
        name = f"lot-label-{lot.lot_number}.pdf"
    return pdf_response(print_jobs.Output(printed, name))
