"""The calculator page: the full working a worksheet will print, before anything is made."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Balance, Formula, Ingredient, IngredientLot
from ..services import calculator as service
from .forms import apply_errors
from .formula_forms import CalculatorForm

bp = Blueprint("calculator", __name__, url_prefix="/calculator")

# Engine field paths (the API's) -> the calculator form's field names.
FIELD_MAP = {
    "filler.name": "filler_name",
    "filler.fill_mg_per_capsule": "packing_stat_mg",
    "filler.tapped_density_mg_per_ml": "tapped_density",
    "api_lot": "lot_id",
    "api_lot.assay_percent": "assay_percent",
    "api_lot.assay_basis": "assay_basis",
    "api_lot.water_percent": "water_percent",
    "balance.mwq_mg": "mwq_mg",
    "tablets": "liquid_source",
    "fill_tolerance_percent": "formula_id",
    "bud_days": "formula_id",
}


def _to_form_errors(exc: ValidationFailed) -> ValidationFailed:
    mapped = []
    for err in exc.errors:
        name = FIELD_MAP.get(err.field, err.field)
        if re.match(r"component_expiries\[\d+\]", name):
            name = "component expiry"
        mapped.append(type(err)(name, err.message))
    return ValidationFailed(mapped)


def _choices(form: CalculatorForm) -> None:
    formulas = db.session.scalars(
        select(Formula).where(Formula.status == "approved").order_by(Formula.code)
    ).all()
    form.formula_id.choices = [(0, "— enter values by hand —")] + [
        (f.id, f"{f.code} v{f.version} · {f.name}") for f in formulas
    ]
    lots = db.session.scalars(
        select(IngredientLot)
        .join(Ingredient)
        .where(
            Ingredient.kind == "api",
            IngredientLot.status == "released",
            IngredientLot.expires_on >= date.today(),
        )
        .order_by(IngredientLot.expires_on)
        .limit(100)
    ).all()
    form.lot_id.choices = [(0, "— enter the assay by hand —")] + [
        (
            lot.id,
            f"{lot.lot_number} · assay {lot.assay_percent}% {lot.assay_basis or ''} · "
            f"exp {lot.expires_on}",
        )
        for lot in lots
    ]
    balances = db.session.scalars(
        select(Balance).where(Balance.active.is_(True)).order_by(Balance.name).limit(50)
    ).all()
    form.balance_id.choices = [(0, "— enter the MWQ by hand —")] + [
        (b.id, f"{b.name} · MWQ {b.mwq_mg} mg") for b in balances
    ]


@bp.route("/", methods=["GET", "POST"])
def page():
    form = CalculatorForm()
    _choices(form)
    result, status = None, 200
    if request.method == "GET":
        form.compounded_on.data = date.today()
        wanted = request.args.get("formula_id", type=int)
        if wanted and any(c[0] == wanted for c in form.formula_id.choices):
            form.formula_id.data = wanted
            chosen = db.session.get(Formula, wanted)
            form.kind.data = "capsules" if chosen.dosage_form == "capsule" else "liquid"
        elif form.formula_id.choices[1:]:
            form.formula_id.data = form.formula_id.choices[1][0]
        if form.lot_id.choices[1:]:
            form.lot_id.data = form.lot_id.choices[1][0]
        if form.balance_id.choices[1:]:
            form.balance_id.data = form.balance_id.choices[1][0]
    elif form.validate_on_submit():
        inp = service.CalculatorInput(
            kind=form.kind.data,
            compounded_on=form.compounded_on.data,
            formula_id=form.formula_id.data or None,
            strength_mg=form.strength_mg.data,
            strength_basis=form.strength_basis.data,
            quantity=form.quantity.data,
            overage_percent=form.overage_percent.data,
            capsule_size=form.capsule_size.data or None,
            filler_name=form.filler_name.data or None,
            packing_stat_mg=form.packing_stat_mg.data,
            tapped_density=form.tapped_density.data,
            concentration_mg_per_ml=form.concentration_mg_per_ml.data,
            volume_ml=form.volume_ml.data,
            liquid_source=form.liquid_source.data,
            lot_id=form.lot_id.data or None,
            assay_percent=form.assay_percent.data,
            assay_basis=form.assay_basis.data,
            water_percent=form.water_percent.data,
            balance_id=form.balance_id.data or None,
            mwq_mg=form.mwq_mg.data,
            bud_category=form.bud_category.data or None,
        )
        try:
            result = service.run(db.session, inp)
        except ValidationFailed as exc:
            apply_errors(form, _to_form_errors(exc))
            status = 422
    else:
        status = 400
    return render_template("calculator.html", form=form, result=result), status
