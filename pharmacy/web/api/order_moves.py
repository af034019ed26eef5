"""Order moves over the JSON API: hold, resume, cancel, and the scan-to-verify at hand-out.

There is deliberately no "set status" endpoint: an order reaches `ready` only by a fill
(POST /api/v1/batches/<id>/dispense) and moves on only through its own events (web/api/
handout.py). Hold, resume and cancel go through pharmacy.services.orders.change_status, as on
the order page: it checks the workflow, the roles, and that a recall hold is not resumed.
"""

from __future__ import annotations

from typing import Annotated

from flask import jsonify
from flask_login import current_user
from pydantic import Field

from ...database import unit_of_work
from ...domain.errors import TransitionNotAllowed
from ...extensions import db
from ...models import Order
from ...services import documents, handout, scan
from ...services import orders as svc
from . import bp, optional_body, parse_body
from .intake import ReasonIn
from .inventory import In, get_or_404, plain

Code = Annotated[str, Field(max_length=200)]


class ScanIn(In):
    label_code: Code = ""
    batch_code: Code = ""


def order_detail(order_id: int) -> dict:
    """The order with its history, what filled it (the batch numbers a scan expects), its
    final check and hand-out."""
    row = db.session.get(Order, order_id)
    out = svc.order_dict(row, detail=True, events=svc.history(db.session, row))
    out["is_titration"] = row.is_titration  # the plan is given with the first fill
    out["fills"] = [
        plain(
            {
                "batch_id": d.batch_id,
                "batch_number": d.batch.batch_number,
                "quantity": d.quantity,
                "unit": d.unit,
                "dispensed_at": d.dispensed_at,
            }
        )
        for d in documents.order_dispenses(db.session, row)
    ]
    check = handout.latest_check(db.session, row)
    out["final_check"] = (
        plain({"id": check.id, "checked_by": check.checked_by.initials, "at": check.checked_at})
        if check
        else None
    )
    given = handout.latest_handout(db.session, row)
    out["handout"] = (
        plain(
            {
                "id": given.id,
                "method": given.method,
                "counsel_outcome": given.counsel_outcome,
                "at": given.handed_out_at,
            }
        )
        if given
        else None
    )
    return out


def _order(order_id: int) -> Order:
    return get_or_404(Order, order_id, "order")


def _move(order_id: int, target: str | None, reason: str):
    order = _order(order_id)
    if target is None:  # resume where it was held from
        if order.status != "on_hold" or not order.held_from:
            raise TransitionNotAllowed(
                f"Order {order.number} is {order.status.replace('_', ' ')}, not on hold: "
                "there is nothing to resume"
            )
        target = order.held_from
    with unit_of_work() as s:
        svc.change_status(s, current_user, order, target, reason)
    return jsonify(order_detail(order_id))


@bp.post("/orders/<int:order_id>/hold")
def hold_order(order_id: int):
    return _move(order_id, "on_hold", parse_body(ReasonIn).reason)


@bp.post("/orders/<int:order_id>/resume")
def resume_order(order_id: int):
    return _move(order_id, None, optional_body(ReasonIn).reason)


@bp.post("/orders/<int:order_id>/cancel")
def cancel_order(order_id: int):
    return _move(order_id, "cancelled", parse_body(ReasonIn).reason)


@bp.post("/orders/<int:order_id>/scan")
def scan_label(order_id: int):
    """The dispensing label's barcode (and optionally the stock container's batch barcode)
    checked against the order; a match is recorded, a mismatch is 422 naming the code."""
    order = _order(order_id)
    body = parse_body(ScanIn)
    with unit_of_work() as s:
        result = scan.verify_label_scan(s, current_user, order, body.label_code, body.batch_code)
    return jsonify({"match": True, **result})
