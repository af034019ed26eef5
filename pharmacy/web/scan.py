"""Scan-to-verify at dispensing (the label and the stock container against the order)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Order
from ..services import scan

bp = Blueprint("scan", __name__)


@bp.route("/orders/<int:order_id>/verify-label", methods=["POST"])
def verify_label(order_id: int):
    order = db.session.get(Order, order_id) or abort(404)
    label_code = request.form.get("label_code", "")
    batch_code = request.form.get("batch_code", "")
    try:
        with unit_of_work() as s:
            result = scan.verify_label_scan(s, current_user, order, label_code, batch_code)
    except ValidationFailed as exc:
        return render_template("scan/result.html", order=order, ok=False, errors=exc.errors), 422
    return render_template("scan/result.html", order=order, ok=True, result=result)
