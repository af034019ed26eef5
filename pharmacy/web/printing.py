"""Print routes: each loads its record, gathers label data, and answers with an inline PDF.

Refusals: a record in the wrong state -> 409 (DocumentRefused), input or label data that
cannot be printed -> 422 naming the field. Either way nothing is logged.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import String, cast, select

import labels
from labels import LabelError

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Batch, Dispense, IngredientLot, LabelPrint, Order, Prescription
from ..services import documents, printing, scanning

bp = Blueprint("printing", __name__, url_prefix="/print")

READY_JOB_LIMIT = 200


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


def _pdf(printed: printing.Printed, filename: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename)
    resp = Response(printed.pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="{safe}"'
    resp.headers["X-Print-Log"] = ",".join(str(row.id) for row in printed.logs)
    if printed.job is not None:
        resp.headers["X-Print-Job"] = f"{printed.job.status} {printed.job.job_id or ''}".strip()
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
        order = _locked(Order, order_id)
        data = documents.dispensing_label(s, order)
        printed = printing.print_document(
            s,
            current_user,
            "dispensing_label",
            order.id,
            lambda job: labels.render_dispensing_labels(
                [data] * job.copies, job.stock, job.start_position, reprint=job.reprint
            ),
            options,
        )
        name = f"label-{order.number}.pdf"
    return _pdf(printed, name)


@bp.route("/orders/<int:order_id>/titration-labels", methods=["POST"])
def titration_labels(order_id: int):
    options = _options()
    start = _date("start_date")
    with unit_of_work() as s:
        order = _locked(Order, order_id)
        kit = documents.titration_kit(s, order, start)
        printed = printing.print_document(
            s,
            current_user,
            "titration_labels",
            order.id,
            lambda job: labels.render_titration_labels(
                kit, job.stock, job.start_position, reprint=job.reprint
            ),
            options,
        )
        name = f"titration-labels-{order.number}.pdf"
    return _pdf(printed, name)


@bp.route("/orders/<int:order_id>/titration-calendar", methods=["POST"])
def titration_calendar(order_id: int):
    options = _options()
    start = _date("start_date")
    with unit_of_work() as s:
        order = _locked(Order, order_id)
        kit = documents.titration_kit(s, order, start)
        printed = printing.print_document(
            s,
            current_user,
            "titration_calendar",
            order.id,
            lambda job: labels.render_titration_calendar(
                kit, watermark="REPRINT" if job.reprint else None
            ),
            options,
        )
        name = f"titration-calendar-{order.number}.pdf"
    return _pdf(printed, name)


@bp.route("/prescriptions/<int:rx_id>/leaflet", methods=["POST"])
def leaflet(rx_id: int):
    options = _options()
    start = _date("start_date")
    with unit_of_work() as s:
        rx = _locked(Prescription, rx_id)
        data = documents.leaflet(s, rx, start)
        printed = printing.print_document(
            s, current_user, "leaflet", rx.id, lambda job: labels.render_leaflet(data), options
        )
        name = f"leaflet-{rx.rx_number}.pdf"
    return _pdf(printed, name)


@bp.route("/ready-labels", methods=["POST"])
def ready_labels():
    """The queue board's "print all labels for ready orders": every ready, filled order whose
    label has not been printed yet, in one PDF (reprints go through the order's own page)."""
    options = _options()
    with unit_of_work() as s:
        labelled = (
            select(LabelPrint.id)
            .where(
                LabelPrint.document == "dispensing_label",
                LabelPrint.entity == "rx_order",
                LabelPrint.entity_id == cast(Order.id, String),
            )
            .exists()
        )
        filled = select(Dispense.id).where(Dispense.order_id == Order.id).exists()
        orders = list(
            s.scalars(
                select(Order)
                # Checked by a pharmacist (final check): the label carries their initials.
                .where(Order.status == "checked", filled, ~labelled)
                .order_by(Order.id)
                .limit(READY_JOB_LIMIT)
                .with_for_update(of=Order)
            )
        )
        if not orders:
            raise documents.DocumentRefused(
                "No checked order is waiting for its first label: every order past its final "
                "check has been printed. Reprint a single label from its order page."
            )
        data = [documents.dispensing_label(s, o) for o in orders]
        printed = printing.print_documents(
            s,
            current_user,
            "dispensing_label",
            [o.id for o in orders],
            lambda job: labels.render_dispensing_labels(
                data, job.stock, job.start_position, reprint=job.reprint
            ),
            options,
        )
    return _pdf(printed, f"ready-labels-{date.today().isoformat()}.pdf")


# --- batches ----------------------------------------------------------------------------------


@bp.route("/batches/<int:batch_id>/label", methods=["POST"])
def batch_label(batch_id: int):
    options = _options()
    with unit_of_work() as s:
        batch = _locked(Batch, batch_id)
        data = documents.batch_label(s, batch)
        printed = printing.print_document(
            s,
            current_user,
            "batch_label",
            batch.id,
            lambda job: labels.render_batch_label(
                data, job.stock, job.start_position, job.copies, reprint=job.reprint
            ),
            options,
        )
        name = f"batch-label-{batch.batch_number}.pdf"
    return _pdf(printed, name)


@bp.route("/batches/<int:batch_id>/worksheet", methods=["POST"])
def worksheet(batch_id: int):
    options = _options()
    with unit_of_work() as s:
        batch = _locked(Batch, batch_id)
        data = documents.worksheet(s, batch)
        status_mark = documents.worksheet_watermark(batch)

        def render(job: printing.Job) -> bytes:
            marks = [m for m in ("REPRINT" if job.reprint else None, status_mark) if m]
            return labels.render_worksheet(data, watermark=" · ".join(marks) or None)

        printed = printing.print_document(s, current_user, "worksheet", batch.id, render, options)
        name = f"worksheet-{batch.batch_number}.pdf"
    return _pdf(printed, name)


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
    return _pdf(printed, name)
