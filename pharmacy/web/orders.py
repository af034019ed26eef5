"""Status look-up for the front desk, the queue board, and order status changes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..database import unit_of_work
from ..domain import lifecycle
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..extensions import db
from ..models import Order, Prescription
from ..services import orders as svc
from .clinical_forms import TransitionForm

bp = Blueprint("orders", __name__, url_prefix="/orders")

STATUS_LABELS = {
    "received": "Received — to verify",
    "verified": "Verified — to compound",
    "in_compounding": "In compounding",
    "quality_check": "Quality check — to release",
    "ready": "Ready for pick-up / shipping",
    "on_hold": "On hold",
}


def _order_href() -> str:
    """The order page's URL without the id: built once per page, not once per listed row."""
    return url_for("orders.show", order_id=0)[:-1]


@bp.route("/")
def lookup():
    q = request.args.get("q", "").strip()
    before = request.args.get("before", type=int)
    error = None
    page = svc.Page([], None)
    try:
        page = svc.lookup(db.session, q, before)
    except ValidationFailed as exc:
        error = exc.errors[0].message
    status = 422 if error else 200
    return render_template(
        "orders/lookup.html", q=q, page=page, error=error, order_href=_order_href()
    ), status


@bp.route("/queue")
def queue():
    counts = svc.queue_counts(db.session)
    only = request.args.get("status")
    after = request.args.get("after", type=int)
    if only is not None and only not in svc.OPEN_STATUSES:
        abort(400, f"{only!r} is not an open order status")
    statuses = [only] if only else svc.queue_order_for(current_user.roles)
    mine = set()
    for role in current_user.roles:
        mine.update(svc.ROLE_WORK.get(role, ()))
    if only:
        columns = [(only, *svc.queue(db.session, only, after))]
    else:
        columns = svc.queue_board(db.session, statuses)
    return render_template(
        "orders/queue.html",
        columns=columns,
        counts=counts,
        labels=STATUS_LABELS,
        mine=mine,
        only=only,
        cap=svc.COUNT_CAP,
        order_href=_order_href(),
    )


def _moves(order: Order) -> list[str]:
    held_from = order.held_from if order.status == "on_hold" else None
    targets = lifecycle.ORDER.targets(order.status, held_from)
    roles = current_user.roles
    allowed = [
        t
        for t in targets
        if (lifecycle.ORDER.roles_for(order.status, t) or roles) & roles
        and (t not in svc.CLINICAL_TARGETS or roles & svc.CLINICAL)
    ]  # only the moves this user may make; the service checks again
    order_of = [*svc.OPEN_STATUSES, "dispensed", "cancelled"]
    return sorted(allowed, key=order_of.index)


def _show(order: Order, status: int = 200, form: TransitionForm | None = None):
    return render_template(
        "orders/show.html",
        order=order,
        rx=order.prescription,
        moves=_moves(order),
        needs_reason={t for t in _moves(order) if lifecycle.ORDER.reason_required(order.status, t)},
        events=svc.history(db.session, order),
        form=form or TransitionForm(),
        terms=svc.terms(order.prescription),
    ), status


@bp.route("/<int:order_id>")
def show(order_id: int):
    # What the page shows, in three statements rather than a lazy load per relationship.
    order = db.session.get(Order, order_id, options=_SHOW_LOADS) or abort(404)
    return _show(order)


_SHOW_LOADS = (
    joinedload(Order.prescription).joinedload(Prescription.patient),
    joinedload(Order.prescription).selectinload(Prescription.orders),
    joinedload(Order.prescription).selectinload(Prescription.titration_steps),
)


@bp.route("/<int:order_id>/status", methods=["POST"])
def transition(order_id: int):
    order = db.session.get(Order, order_id) or abort(404)
    form = TransitionForm()
    if not form.validate_on_submit():
        return _show(order, 400, form)
    target = form.target.data
    try:
        with unit_of_work() as s:
            svc.transition(
                s, current_user, order, target, form.reason.data, form.dispensed_via.data or None
            )
    except ValidationFailed as exc:
        for e in exc.errors:
            flash(f"{e.field.replace('_', ' ')}: {e.message}", "error")
        return _show(db.session.get(Order, order_id), 422, form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Order, order_id), 409, form)
    flash(f"Order {order.number} is now {order.status.replace('_', ' ')}.", "success")
    return redirect(url_for("orders.show", order_id=order.id))
