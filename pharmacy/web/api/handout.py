"""After the fill, over the JSON API: the refill verification, the pharmacist's final check
(ready -> checked) and the hand-out (checked -> dispensed) with its label print, scan and
offer to counsel.

Thin views over pharmacy.services.handout and .rescreen (the same use cases as the order
page): GET shows what is compared or still missing without writing anything; POST records the
event in one transaction or refuses with the fields named (422) / the state (409).
"""

from __future__ import annotations

from typing import Annotated

from flask import jsonify, url_for
from flask_login import current_user
from pydantic import Field

from ...database import unit_of_work
from ...extensions import db
from ...models import Order
from ...services import handout as svc
from ...services import rescreen
from . import bp
from .intake import optional_body
from .inventory import In, get_or_404, plain
from .order_moves import order_detail

Text = Annotated[str, Field(max_length=2000)]


class OverrideIn(In):
    override_reason: Text = ""


class FinalCheckIn(In):
    notes: Text = ""
    override_reason: Text = ""


class HandoutIn(In):
    method: Annotated[str, Field(max_length=10)] = ""  # "pickup" or "shipped"
    counsel_outcome: Annotated[str, Field(max_length=10)] = ""  # "accepted" or "declined"
    counsel_notes: Text = ""
    scan_waived_reason: Text = ""  # a pharmacist's reason to hand out unscanned


def _order(order_id: int) -> Order:
    return get_or_404(Order, order_id, "order")


def _finding(f) -> dict:
    return {
        "code": f.code,
        "severity": f.severity,
        "message": f.message,
        "overridden": f.overridden_at is not None,
    }


def _created(body: dict, order_id: int):
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.order", order_id=order_id)
    return resp


@bp.post("/orders/<int:order_id>/verify")
def verify_order(order_id: int):
    """A refill (received -> verified): screening runs again; a new contraindication needs
    `override_reason`."""
    order = _order(order_id)
    body = optional_body(OverrideIn)
    with unit_of_work() as s:
        rescreen.verify_refill(s, current_user, order, body.override_reason)
    return jsonify(order_detail(order_id))


@bp.get("/orders/<int:order_id>/final-check")
def final_check_view(order_id: int):
    view = svc.check_view(db.session, _order(order_id))
    out = {
        "order_id": order_id,
        "compared": view.compared(),
        "discrepancies": [e.as_dict() for e in view.discrepancies],
        "findings": [_finding(f) for f in view.findings],
        "refused": [f.code for f in view.refused],
        "needs_override": [f.code for f in view.pending],
        "can_check": not view.discrepancies and not view.refused,
    }
    db.session.rollback()  # unsaved preview findings never reach the database
    return jsonify(out)


@bp.post("/orders/<int:order_id>/final-check")
def final_check(order_id: int):
    order = _order(order_id)
    body = optional_body(FinalCheckIn)
    with unit_of_work() as s:
        row = svc.final_check(
            s, current_user, order, notes=body.notes, override_reason=body.override_reason
        )
        check = plain(
            {
                "id": row.id,
                "checked_by_id": row.checked_by_id,
                "checked_by": row.checked_by.initials,
                "checked_at": row.checked_at,
                "notes": row.notes,
                "override_reason": row.override_reason,
                "compared": row.compared,
            }
        )
    return _created({"final_check": check, "order": order_detail(order_id)}, order_id)


@bp.get("/orders/<int:order_id>/handout")
def handout_view(order_id: int):
    state = svc.handout_status(db.session, _order(order_id))
    return jsonify(
        plain(
            {
                "order_id": order_id,
                "final_check_id": state.check.id if state.check else None,
                "label_print_id": state.label_print.id if state.label_print else None,
                "label_scan_id": state.scan.id if state.scan else None,
                "missing": state.missing,
            }
        )
    )


@bp.post("/orders/<int:order_id>/handout")
def hand_out(order_id: int):
    order = _order(order_id)
    body = optional_body(HandoutIn)
    data = svc.HandoutInput(
        method=body.method,
        counsel_outcome=body.counsel_outcome,
        counsel_notes=body.counsel_notes,
        scan_waived_reason=body.scan_waived_reason,
    )
    with unit_of_work() as s:
        row = svc.hand_out(s, current_user, order, data)
        given = plain(
            {
                "id": row.id,
                "method": row.method,
                "label_print_id": row.label_print_id,
                "label_scan_id": row.label_scan_id,
                "scan_waived_reason": row.scan_waived_reason,
                "counsel_outcome": row.counsel_outcome,
                "counsel_notes": row.counsel_notes,
                "counselled_by_id": row.counselled_by_id,
                "handed_out_by_id": row.handed_out_by_id,
                "handed_out_at": row.handed_out_at,
            }
        )
    return _created({"handout": given, "order": order_detail(order_id)}, order_id)
