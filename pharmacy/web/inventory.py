"""Inventory: ingredients, lot receipt, pharmacist release/reject, stock adjustments, and the
inventory page (stock per lot, lots expiring soon, ingredients below their reorder point).

Thin views: forms give shape, pharmacy.services.inventory decides.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..database import minimal, unit_of_work
from ..domain import lifecycle
from ..domain.errors import FieldError, ValidationFailed
from ..extensions import db
from ..models import Ingredient, IngredientLot, User
from ..models.inventory import LOT_STATUSES
from ..services import inventory as service
from ..services import scanning
from .forms import apply_errors
from .inventory_forms import AdjustmentForm, IngredientForm, LotDecisionForm, LotReceiptForm

bp = Blueprint("inventory", __name__, url_prefix="/inventory")

PAGE_SIZE = 50
MAX_WARNING_DAYS = 730
# Recall also flags affected orders; it belongs to the recall feature, not this page.
UI_DECISIONS = ("released", "rejected", "quarantined")
DECISION_LABELS = {
    "released": "Release for use",
    "rejected": "Reject",
    "quarantined": "Put back in quarantine",
}


@bp.app_template_filter("qty")
def format_quantity(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{minimal(value):,f}"
    return str(value)


def _page_arg() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _today() -> date:
    return date.today()


def _warning_days() -> int:
    default = int(current_app.config.get("EXPIRY_WARNING_DAYS", 60))
    days = request.args.get("days", default, type=int)
    if days is None or not 1 <= days <= MAX_WARNING_DAYS:
        abort(400, f"days must be a whole number from 1 to {MAX_WARNING_DAYS}")
    return days


# ---------------------------------------------------------------- inventory page


@bp.route("/")
def overview():
    today = _today()
    days = _warning_days()
    status = request.args.get("status", "open")
    statuses = {
        "open": ("quarantined", "released"),
        "all": LOT_STATUSES,
    }.get(status, (status,) if status in LOT_STATUSES else None)
    if statuses is None:
        abort(400, "unknown status filter")
    q = request.args.get("q", "").strip()[:60]
    lots = service.list_lots(db.session, _page_arg(), PAGE_SIZE, statuses=statuses, q=q)
    expiring, more_expiring = service.expiring_lots(db.session, today, days)
    low, more_low = service.below_reorder_point(db.session, today)
    return render_template(
        "inventory/overview.html",
        lots=lots,
        expiring=expiring,
        more_expiring=more_expiring,
        low=low,
        more_low=more_low,
        days=days,
        today=today,
        status=status,
        q=q,
        statuses=LOT_STATUSES,
    )


# ---------------------------------------------------------------- ingredients


def _ingredient_data(form: IngredientForm) -> service.IngredientData:
    return service.IngredientData(
        name=form.name.data or "",
        kind=form.kind.data or "",
        unit=form.unit.data or "",
        salt_form=form.salt_form.data or None,
        molecular_weight=form.molecular_weight.data,
        base_molecular_weight=form.base_molecular_weight.data,
        tapped_density_mg_per_ml=form.tapped_density_mg_per_ml.data,
        capsule_size=form.capsule_size.data or None,
        capsule_colour=form.capsule_colour.data,
        reorder_point=form.reorder_point.data,
        active=bool(form.active.data),
        gtin=form.gtin.data,
    )


@bp.route("/ingredients")
def ingredients():
    kind = request.args.get("kind", "")
    q = request.args.get("q", "").strip()[:60]
    page = service.list_ingredients(db.session, _page_arg(), PAGE_SIZE, q=q, kind=kind)
    return render_template("inventory/ingredients.html", page=page, q=q, kind=kind)


@bp.route("/ingredients/new", methods=["GET", "POST"])
def new_ingredient():
    form = IngredientForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                ingredient = service.create_ingredient(s, current_user, _ingredient_data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Ingredient {ingredient.name} created.", "success")
            return redirect(url_for("inventory.ingredient", ingredient_id=ingredient.id))
    elif request.method == "POST":
        status = 422
    return render_template("inventory/ingredient_form.html", form=form, ingredient=None), status


@bp.route("/ingredients/<int:ingredient_id>")
def ingredient(ingredient_id: int):
    row = db.session.get(Ingredient, ingredient_id) or abort(404)
    lots = service.list_lots(
        db.session, _page_arg(), PAGE_SIZE, statuses=LOT_STATUSES, ingredient_id=row.id
    )
    return render_template("inventory/ingredient.html", ingredient=row, lots=lots, today=_today())


@bp.route("/ingredients/<int:ingredient_id>/edit", methods=["GET", "POST"])
def edit_ingredient(ingredient_id: int):
    row = db.session.get(Ingredient, ingredient_id) or abort(404)
    form = IngredientForm(obj=row) if request.method == "GET" else IngredientForm()
    if request.method == "GET":
        for name in (
            "molecular_weight",
            "base_molecular_weight",
            "tapped_density_mg_per_ml",
            "reorder_point",
        ):
            getattr(form, name).data = format_quantity(getattr(row, name))
        form.salt_form.data = row.salt_form or ""
        form.capsule_size.data = row.capsule_size or ""
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                service.update_ingredient(s, current_user, row, _ingredient_data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Ingredient {row.name} saved.", "success")
            return redirect(url_for("inventory.ingredient", ingredient_id=row.id))
    elif request.method == "POST":
        status = 422
    return render_template("inventory/ingredient_form.html", form=form, ingredient=row), status


# ---------------------------------------------------------------- lots


def _ingredient_choices(form: LotReceiptForm) -> None:
    rows = db.session.execute(
        select(Ingredient.id, Ingredient.name, Ingredient.unit)
        .where(Ingredient.active.is_(True))
        .order_by(Ingredient.name)
        .limit(1000)
    ).all()
    form.ingredient_id.choices = [(0, "— choose —")] + [
        (r.id, f"{r.name} ({r.unit})") for r in rows
    ]


@bp.route("/lots/new", methods=["GET", "POST"])
def receive_lot():
    form = LotReceiptForm()
    _ingredient_choices(form)
    status = 200
    scan_errors: list[str] = []
    if request.method == "GET" and request.args.get("scan"):
        try:
            found = scanning.scan_for_receipt(db.session, request.args["scan"])
        except ValidationFailed as exc:
            scan_errors = [e.message for e in exc.errors]
            status = 422
        else:
            form.ingredient_id.data = found.ingredient.id
            form.unit.data = found.ingredient.unit
            form.lot_number.data = found.scan.lot_number or ""
            form.expiry.data = found.scan.expiry_text
            flash(
                f"Scanned {found.ingredient.name}"
                + (f", lot {found.scan.lot_number}" if found.scan.lot_number else "")
                + (f", expiry {found.scan.expiry_text}" if found.scan.expires_on else "")
                + ": check them and complete the receipt.",
                "success",
            )
    elif request.method == "GET":
        chosen = request.args.get("ingredient_id", type=int)
        if chosen:
            form.ingredient_id.data = chosen
            ing = db.session.get(Ingredient, chosen)
            if ing is not None:
                form.unit.data = ing.unit
    if form.validate_on_submit():
        data = service.LotReceipt(
            ingredient_id=form.ingredient_id.data or None,
            lot_number=form.lot_number.data or "",
            supplier=form.supplier.data or "",
            manufacturer=form.manufacturer.data or "",
            expiry=form.expiry.data or "",
            quantity=form.quantity.data,
            unit=form.unit.data or "",
            assay_percent=form.assay_percent.data,
            assay_basis=form.assay_basis.data or None,
            water_percent=form.water_percent.data,
        )
        try:
            with unit_of_work() as s:
                lot = service.receive_lot(s, current_user, data, today=_today())
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(
                f"Lot {lot.lot_number} received and quarantined until a pharmacist releases it.",
                "success",
            )
            return redirect(url_for("inventory.lot", lot_id=lot.id))
    elif request.method == "POST":
        status = 422
    return render_template("inventory/receive.html", form=form, scan_errors=scan_errors), status


def _decision_form(lot: IngredientLot) -> LotDecisionForm:
    form = LotDecisionForm(prefix="decision")
    targets = lifecycle.LOT.targets(lot.status)
    form.target.choices = [(t, DECISION_LABELS[t]) for t in UI_DECISIONS if t in targets]
    return form


def _render_lot(lot: IngredientLot, decision=None, adjustment=None, status: int = 200):
    stock = service.lot_stock(db.session, lot)
    today = _today()
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(
                User.id.in_([i for i in (lot.received_by_id, lot.status_changed_by_id) if i])
            )
        )
    }
    adjustment = adjustment or AdjustmentForm(prefix="adjust")
    if not adjustment.is_submitted():
        adjustment.unit.data = lot.unit
    return (
        render_template(
            "inventory/lot.html",
            lot=lot,
            stock=stock,
            usability=stock.usability(today),
            movements=service.lot_movements(db.session, lot),
            users=users,
            decision=decision or _decision_form(lot),
            adjustment=adjustment,
            today=today,
        ),
        status,
    )


@bp.route("/lots/<int:lot_id>")
def lot(lot_id: int):
    row = db.session.get(IngredientLot, lot_id) or abort(404)
    return _render_lot(row)


@bp.route("/lots/<int:lot_id>/decision", methods=["POST"])
def lot_decision(lot_id: int):
    row = db.session.get(IngredientLot, lot_id) or abort(404)
    form = _decision_form(row)
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                service.set_lot_status(
                    s, current_user, row, form.target.data, form.reason.data, today=_today()
                )
        except ValidationFailed as exc:
            # The service names the lot's "status"; on this form that is the decision.
            apply_errors(
                form,
                ValidationFailed(
                    [
                        FieldError("target" if e.field == "status" else e.field, e.message)
                        for e in exc.errors
                    ]
                ),
            )
            return _render_lot(db.session.get(IngredientLot, lot_id), decision=form, status=422)
        flash(f"Lot {row.lot_number} is now {row.status}.", "success")
        return redirect(url_for("inventory.lot", lot_id=row.id))
    return _render_lot(row, decision=form, status=422)


@bp.route("/lots/<int:lot_id>/adjust", methods=["POST"])
def adjust_lot(lot_id: int):
    row = db.session.get(IngredientLot, lot_id) or abort(404)
    form = AdjustmentForm(prefix="adjust")
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                service.record_adjustment(
                    s,
                    current_user,
                    row,
                    form.kind.data,
                    form.quantity.data,
                    form.unit.data,
                    form.reason.data,
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            return _render_lot(db.session.get(IngredientLot, lot_id), adjustment=form, status=422)
        flash(f"Stock adjustment recorded on lot {row.lot_number}.", "success")
        return redirect(url_for("inventory.lot", lot_id=row.id))
    return _render_lot(row, adjustment=form, status=422)
