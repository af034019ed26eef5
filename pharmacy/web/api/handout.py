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
from ..forms import sign_off
from . import SignPassword, bp, optional_body
from .inventory import In, get_or_404, plain
from .order_moves import order_detail

Text = Annotated[str, Field(max_length=2000)]


class OverrideIn(In):
    override_reason: Text = ""


class FinalCheckIn(In):
    notes: Text = ""
    override_reason: Text = ""
    password: SignPassword = ""


class HandoutIn(In):
    method: Annotated[str, Field(max_length=10)] = ""  # "pickup" or "shipped"
    counsel_outcome: Annotated[str, Field(max_length=10)] = ""  # "accepted" or "declined"
    counsel_notes: Text = ""
    scan_waived_reason: Text = ""  # a pharmacist's reason to hand out unscanned
    # A contraindication found since the final check: a pharmacist overrides it with a reason.
    override_reason: Text = ""


def _order(order_id: int) -> Order:
    return get_or_404(Order, order_id, "order")


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
    out = {
        "order_id": order_id,
        **svc.check_view_dict(svc.check_view(db.session, _order(order_id))),
    }
    db.session.rollback()  # unsaved preview findings never reach the database
    return jsonify(out)


@bp.post("/orders/<int:order_id>/final-check")
def final_check(order_id: int):
    order = _order(order_id)
    body = optional_body(FinalCheckIn)
    with unit_of_work() as s:
        row = svc.final_check(
            s,
            current_user,
            order,
            notes=body.notes,
            override_reason=body.override_reason,
            sign=sign_off(body.password),
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
    return jsonify({"order_id": order_id, **svc.handout_status_dict(state)})


@bp.post("/orders/<int:order_id>/handout")
def hand_out(order_id: int):
    order = _order(order_id)
    body = optional_body(HandoutIn)
    data = svc.HandoutInput(
        method=body.method,
        counsel_outcome=body.counsel_outcome,
        counsel_notes=body.counsel_notes,
        scan_waived_reason=body.scan_waived_reason,
        override_reason=body.override_reason,
    )
    with unit_of_work() as s:
        given = svc.handout_dict(svc.hand_out(s, current_user, order, data))
    return _created({"handout": given, "order": order_detail(order_id)}, order_id)
