"""Status look-up for the front desk, the queue board, and order status changes."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..database import unit_of_work
from ..domain import lifecycle
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..extensions import db
from ..models import Order
from ..services import batches as batch_svc
from ..services import handout as handout_svc
from ..services import order_page, rescreen
from ..services import orders as svc
from . import fixed_url
from .clinical_forms import FinalCheckForm, HandoutForm, TransitionForm, VerifyForm
from .forms import apply_errors, note_refusal, sign_off

bp = Blueprint("orders", __name__, url_prefix="/orders")

STATUS_LABELS = {
    "received": "Received — to verify",
    "verified": "Verified — to compound",
    "in_compounding": "In compounding",
    "quality_check": "Quality check — to release",
    "ready": "Filled — awaiting final check",
    "checked": "Checked — to hand out",
    "on_hold": "On hold",
}


def _order_href() -> str:
    """The order page's URL without the id: built once per page, not once per listed row."""
    return fixed_url("orders.show", order_id=0)[:-1]


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
    only = request.args.get("status")
    after = request.args.get("after", type=int)
    if only is not None and only not in svc.OPEN_STATUSES:
        abort(400, f"{only!r} is not an open order status")
    statuses = [only] if only else svc.queue_order_for(current_user.roles)
    mine = set()
    for role in current_user.roles:
        mine.update(svc.ROLE_WORK.get(role, ()))
    if only and after:
        columns = [(only, *svc.queue(db.session, only, after))]
        counts = svc.queue_counts(db.session)
    else:  # a queue's first page is the board's statement for one status: rows and counts
        limit = svc.PAGE_SIZE if only else svc.BOARD_ROWS
        columns, counts = svc.queue_board(db.session, statuses, limit)
    return render_template(
        "orders/queue.html",
        columns=columns,
        counts=counts,
        labels=STATUS_LABELS,
        mine=mine,
        only=only,
        cap=svc.COUNT_CAP,
        order_href=_order_href(),
        rx_href=fixed_url("prescriptions.show", rx_id=0)[:-1],
        today=date.today(),
        refresh_seconds=current_app.config.get("QUEUE_REFRESH_SECONDS", 60),
    )


def _moves(order: Order) -> list[str]:
    """Hold, resume, cancel: the only moves with a button (the service checks again)."""
    allowed = svc.manual_moves(db.session, order, current_user.roles)
    order_of = [*svc.OPEN_STATUSES, "dispensed", "cancelled"]
    return sorted(allowed, key=order_of.index)


class _FormWhenShown:
    """A form built the first time the page reads it: the order page offers the verify and
    hand-out forms only in some statuses, and building a WTForms form costs ~0.1 ms."""

    def __init__(self, factory):
        self._factory = factory
        self._form = None

    def __getattr__(self, name):
        if self._form is None:
            self._form = self._factory()
        return getattr(self._form, name)


def _plain(value) -> str:
    return format(value.normalize(), "f")


def _show(
    order: Order,
    status: int = 200,
    form: TransitionForm | None = None,
    verify_form: VerifyForm | None = None,
    handout_form: HandoutForm | None = None,
):
    moves = _moves(order)
    findings = refused = pending = ()
    if order.status == "received":
        findings = rescreen.preview(db.session, order.prescription)
        refused, pending = rescreen.preview_blocking(findings)
    return render_template(
        "orders/show.html",
        order=order,
        rx=order.prescription,
        moves=moves,
        needs_reason={t for t in moves if lifecycle.ORDER.reason_required(order.status, t)},
        events=svc.history(db.session, order),
        form=form or _FormWhenShown(TransitionForm),
        terms=svc.terms(order.prescription),
        recalled_batch=svc.recalled_batch(db.session, order) if order.status == "on_hold" else None,
        findings=findings,
        refused=refused,
        pending=pending,
        verify_form=verify_form or _FormWhenShown(VerifyForm),
        handout=handout_svc.handout_status(db.session, order)
        if order.status in ("checked", "dispensed")
        else None,
        handout_record=handout_svc.latest_handout(db.session, order)
        if order.status == "dispensed"
        else None,
        handout_form=handout_form or _FormWhenShown(HandoutForm),
        # A titration is made in one batch per step strength: one start link for each.
        to_make=[
            (_plain(mg), _plain(units)) for mg, units in batch_svc.still_needed(db.session, order)
        ]
        if order.status in batch_svc.START_ORDER_STATUSES
        else [],
        new_blocking=rescreen.blocking(order.prescription) if order.status == "checked" else [],
    ), status


@bp.route("/<int:order_id>")
def show(order_id: int):
    # What the page shows, in three statements rather than a lazy load per relationship.
    order = order_page.order_for_page(db.session, order_id) or abort(404)
    return _show(order)


@bp.route("/<int:order_id>/status", methods=["POST"])
def transition(order_id: int):
    order = db.session.get(Order, order_id) or abort(404)
    form = TransitionForm()
    if not form.validate_on_submit():
        return _show(order, 400, form)
    target = form.target.data
    try:
        with unit_of_work() as s:
            svc.change_status(s, current_user, order, target, form.reason.data)
    except ValidationFailed as exc:
        for e in exc.errors:
            flash(f"{e.field.replace('_', ' ')}: {e.message}", "error")
        return _show(db.session.get(Order, order_id), 422, form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Order, order_id), 409, form)
    flash(f"Order {order.number} is now {order.status.replace('_', ' ')}.", "success")
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/verify", methods=["POST"])
def verify_refill(order_id: int):
    order = db.session.get(Order, order_id) or abort(404)
    form = VerifyForm()
    if not form.validate_on_submit():
        return _show(order, 400, verify_form=form)
    try:
        with unit_of_work() as s:
            rescreen.verify_refill(s, current_user, order, form.override_reason.data)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _show(db.session.get(Order, order_id), 422, verify_form=form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Order, order_id), 409)
    flash(f"Refill {order.number} verified.", "success")
    return redirect(url_for("orders.show", order_id=order.id))


def _final_check_page(order: Order, form: FinalCheckForm, status: int = 200):
    return render_template(
        "orders/final_check.html",
        order=order,
        rx=order.prescription,
        view=handout_svc.check_view(db.session, order),
        form=form,
    ), status


@bp.route("/<int:order_id>/final-check", methods=["GET", "POST"])
def final_check(order_id: int):
    order = db.session.get(Order, order_id) or abort(404)
    form = FinalCheckForm()
    if request.method == "GET":
        return _final_check_page(order, form)
    if not form.validate_on_submit():
        return _final_check_page(order, form, 400)
    try:
        with unit_of_work() as s:
            handout_svc.final_check(
                s,
                current_user,
                order,
                notes=form.notes.data or "",
                override_reason=form.override_reason.data,
                sign=sign_off(form.password.data),
            )
    except ValidationFailed as exc:
        note_refusal(exc)
        apply_errors(form, exc)
        return _final_check_page(db.session.get(Order, order_id), form, 422)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _final_check_page(db.session.get(Order, order_id), form, 409)
    flash(f"Order {order.number} checked: print its label, scan it and hand it out.", "success")
    return redirect(url_for("orders.show", order_id=order.id))


@bp.route("/<int:order_id>/hand-out", methods=["POST"])
def hand_out(order_id: int):
    order = db.session.get(Order, order_id) or abort(404)
    form = HandoutForm()
    if not form.validate_on_submit():
        return _show(order, 400, handout_form=form)
    data = handout_svc.HandoutInput(
        method=form.method.data or "",
        counsel_outcome=form.counsel_outcome.data or "",
        counsel_notes=form.counsel_notes.data or "",
        scan_waived_reason=form.scan_waived_reason.data or "",
        override_reason=form.override_reason.data or "",
    )
    try:
        with unit_of_work() as s:
            handout_svc.hand_out(s, current_user, order, data)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _show(db.session.get(Order, order_id), 422, handout_form=form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Order, order_id), 409)
    flash(f"Order {order.number} handed out.", "success")
    return redirect(url_for("orders.show", order_id=order.id))
