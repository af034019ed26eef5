"""Master formulation records: list, view, draft, edit draft, approve, new version, retire."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..domain.weighing import API_TOLERANCE_DEFAULT
from ..extensions import db
from ..models import Formula, Ingredient
from ..services import formulas as service
from .forms import SignForm, apply_errors, note_refusal, sign_off
from .formula_forms import FormulaForm, ReasonForm

bp = Blueprint("formulas", __name__, url_prefix="/formulas")

SLOTS = (
    ("active_id", "active", "api"),
    ("filler_id", "filler", "filler"),
    ("shell_id", "capsule_shell", "capsule_shell"),
    ("vehicle_id", "vehicle", "vehicle"),
)
VALUE_FIELDS = [f for f in service.EDITABLE_FIELDS]


def _choices(form: FormulaForm) -> None:
    rows = db.session.scalars(
        select(Ingredient).where(Ingredient.active.is_(True)).order_by(Ingredient.name)
    ).all()
    for field_name, _role, kind in SLOTS:
        field = getattr(form, field_name)
        field.choices = [(0, "—")] + [(i.id, i.name) for i in rows if i.kind == kind]


def _values(form: FormulaForm) -> tuple[dict, list[service.LineInput]]:
    values = {name: getattr(form, name).data for name in VALUE_FIELDS if hasattr(form, name)}
    values["capsule_size"] = values.get("capsule_size") or None
    for key in ("qc_requirements", "labelling_notes", "stability_reference"):
        values[key] = values.get(key) or ("" if key != "stability_reference" else None)
    if values.get("qc_sample_size") is None:
        values["qc_sample_size"] = 0
    if values.get("api_tolerance_percent") is None:
        values["api_tolerance_percent"] = API_TOLERANCE_DEFAULT
    lines = [
        service.LineInput(getattr(form, f).data, role)
        for f, role, _k in SLOTS
        if getattr(form, f).data
    ]
    return values, lines


def _fill(form: FormulaForm, formula: Formula) -> None:
    for name in VALUE_FIELDS:
        if hasattr(form, name):
            getattr(form, name).data = getattr(formula, name)
    form.code.data = formula.code
    for field_name, role, _k in SLOTS:
        line = next((ln for ln in formula.lines if ln.role == role), None)
        getattr(form, field_name).data = line.ingredient_id if line else 0


@bp.route("/")
def index():
    rows = db.session.scalars(
        select(Formula).order_by(Formula.code, Formula.version.desc()).limit(500)
    ).all()
    return render_template("formulas/index.html", formulas=rows)


@bp.route("/<int:formula_id>")
def show(formula_id: int):
    formula = db.session.get(Formula, formula_id) or abort(404)
    return _show(formula)


def _show(formula: Formula, status: int = 200, sign_form: SignForm | None = None):
    versions = db.session.scalars(
        select(Formula).where(Formula.code == formula.code).order_by(Formula.version.desc())
    ).all()
    return render_template(
        "formulas/show.html",
        formula=formula,
        versions=versions,
        reason_form=ReasonForm(),
        sign_form=sign_form or SignForm(),
    ), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = FormulaForm()
    _choices(form)
    status = 200
    if request.method == "GET":
        form.overage_percent.data = 0
        form.weight_tolerance_percent.data = 10
        form.api_tolerance_percent.data = 5
        form.qc_sample_size.data = 10
    elif form.validate_on_submit():
        values, lines = _values(form)
        try:
            with unit_of_work() as s:
                formula = service.create_formula(s, current_user, form.code.data, values, lines)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(
                f"Draft {formula.code} v{formula.version} saved. A pharmacist must approve it "
                "before use.",
                "success",
            )
            return redirect(url_for("formulas.show", formula_id=formula.id))
    else:
        status = 400
    return render_template("formulas/edit.html", form=form, formula=None), status


@bp.route("/<int:formula_id>/edit", methods=["GET", "POST"])
def edit(formula_id: int):
    formula = db.session.get(Formula, formula_id) or abort(404)
    if formula.status != "draft":
        raise TransitionNotAllowed(
            f"{formula.code} v{formula.version} is {formula.status}: it can never be edited. "
            "Create a new version instead."
        )
    form = FormulaForm()
    _choices(form)
    status = 200
    if request.method == "GET":
        _fill(form, formula)
    elif form.validate_on_submit():
        values, lines = _values(form)
        try:
            with unit_of_work() as s:
                service.update_draft(s, current_user, formula, values, lines)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash("Draft saved.", "success")
            return redirect(url_for("formulas.show", formula_id=formula.id))
    else:
        status = 400
    form.code.render_kw = {"readonly": True}
    return render_template("formulas/edit.html", form=form, formula=formula), status


@bp.route("/<int:formula_id>/approve", methods=["POST"])
def approve(formula_id: int):
    formula = db.session.get(Formula, formula_id) or abort(404)
    form = SignForm()
    if not form.validate_on_submit():
        return _show(formula, 400, form)
    try:
        with unit_of_work() as s:
            service.approve(s, current_user, formula, sign=sign_off(form.password.data))
    except ValidationFailed as exc:
        note_refusal(exc)
        apply_errors(form, exc)
        return _show(db.session.get(Formula, formula_id), 422, form)
    flash(f"{formula.code} v{formula.version} approved.", "success")
    return redirect(url_for("formulas.show", formula_id=formula.id))


@bp.route("/<int:formula_id>/new-version", methods=["POST"])
def new_version(formula_id: int):
    formula = db.session.get(Formula, formula_id) or abort(404)
    with unit_of_work() as s:
        copy = service.new_version(s, current_user, formula)
    flash(f"Draft version {copy.version} created from version {formula.version}.", "success")
    return redirect(url_for("formulas.edit", formula_id=copy.id))


@bp.route("/<int:formula_id>/retire", methods=["POST"])
def retire(formula_id: int):
    formula = db.session.get(Formula, formula_id) or abort(404)
    form = ReasonForm()
    form.validate_on_submit()
    with unit_of_work() as s:
        service.retire(s, current_user, formula, form.reason.data or "")
    flash(f"{formula.code} v{formula.version} retired.", "success")
    return redirect(url_for("formulas.show", formula_id=formula.id))
