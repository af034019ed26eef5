"""Labels and documents over the JSON API, answered as application/pdf.

The same print use cases as the pages (pharmacy.services.print_jobs): every print is logged
and audited, a document printed before is a reprint and needs a `reason`, a record in the
wrong state is 409 and data that cannot be printed is 422 naming the field; nothing is logged
then. The body is optional: {"stock", "start_position", "copies", "reason"} (+ "start_date"
for a titration kit or leaflet).
"""

from __future__ import annotations

from typing import Annotated

from flask import abort, jsonify
from flask_login import current_user
from pydantic import Field

from labels import LabelError

from ...database import unit_of_work
from ...extensions import db
from ...models import Batch, Order, Prescription
from ...services import print_jobs, printing
from ..printing import pdf_response
from . import Day, bp, optional_body
from .inventory import MAX_ID, In


class PrintIn(In):
    stock: Annotated[str, Field(max_length=40)] | None = None
    start_position: Annotated[int, Field(strict=True, ge=1, le=9999)] = 1
    copies: Annotated[int, Field(strict=True, ge=1, le=printing.MAX_COPIES)] = 1
    reason: Annotated[str, Field(max_length=1000)] = ""


class DatedPrintIn(PrintIn):
    start_date: Day | None = None  # day 1 of the titration calendar / journal


@bp.errorhandler(LabelError)
def label_refused(exc: LabelError):
    db.session.rollback()
    field = getattr(exc, "field", None)
    if field is None and hasattr(exc, "position"):
        field = "start_position"
    elif field is None and hasattr(exc, "code"):
        field = "stock"
    return jsonify({"errors": [{"field": field, "message": str(exc)}]}), 422


def _options(body: PrintIn) -> printing.PrintOptions:
    return printing.PrintOptions(
        stock=body.stock, start_position=body.start_position, copies=body.copies, reason=body.reason
    )


def _locked(model, ident: int, what: str):
    """The record, row-locked so two first prints cannot both count as the original."""
    row = None
    if 1 <= ident <= MAX_ID:
        row = db.session.get(model, ident, with_for_update=True, populate_existing=True)
    return row or abort(404, f"{what} {ident} does not exist")


@bp.post("/orders/<int:order_id>/label")
def order_label_pdf(order_id: int):
    options = _options(optional_body(PrintIn))
    with unit_of_work() as s:
        order = _locked(Order, order_id, "order")
        out = print_jobs.dispensing_label(s, current_user, order, options)
    return pdf_response(out)


@bp.post("/orders/<int:order_id>/titration-labels")
def titration_labels_pdf(order_id: int):
    body = optional_body(DatedPrintIn)
    with unit_of_work() as s:
        order = _locked(Order, order_id, "order")
        out = print_jobs.titration_labels(s, current_user, order, _options(body), body.start_date)
    return pdf_response(out)


@bp.post("/orders/<int:order_id>/titration-calendar")
def titration_calendar_pdf(order_id: int):
    body = optional_body(DatedPrintIn)
    with unit_of_work() as s:
        order = _locked(Order, order_id, "order")
        out = print_jobs.titration_calendar(s, current_user, order, _options(body), body.start_date)
    return pdf_response(out)


@bp.post("/prescriptions/<int:rx_id>/leaflet")
def leaflet_pdf(rx_id: int):
    body = optional_body(DatedPrintIn)
    with unit_of_work() as s:
        rx = _locked(Prescription, rx_id, "prescription")
        out = print_jobs.leaflet(s, current_user, rx, _options(body), body.start_date)
    return pdf_response(out)


@bp.post("/ready-labels")
def ready_labels_pdf():
    options = _options(optional_body(PrintIn))
    with unit_of_work() as s:
        out = print_jobs.ready_labels(s, current_user, options)
    return pdf_response(out)


@bp.post("/batches/<int:batch_id>/label")
def batch_label_pdf(batch_id: int):
    options = _options(optional_body(PrintIn))
    with unit_of_work() as s:
        out = print_jobs.batch_label(s, current_user, _locked(Batch, batch_id, "batch"), options)
    return pdf_response(out)


@bp.post("/batches/<int:batch_id>/worksheet")
def worksheet_pdf(batch_id: int):
    options = _options(optional_body(PrintIn))
    with unit_of_work() as s:
        out = print_jobs.worksheet(s, current_user, _locked(Batch, batch_id, "batch"), options)
    return pdf_response(out)
