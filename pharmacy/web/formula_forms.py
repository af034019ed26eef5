"""Form shapes for master formulation records and the calculator."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..domain.calc import BUD_CATEGORIES, CAPSULE_VOLUMES_ML
from ..domain.formula_rules import DOSAGE_FORMS
from .fields import DateField, DecimalField, IntegerField


def _decimal(label, required=False):
    return DecimalField(label, places=None, validators=[DataRequired() if required else Optional()])


SIZE_CHOICES = [("", "—")] + [(s, f"Size {s}") for s in CAPSULE_VOLUMES_ML]
BUD_CHOICES = [(k, f"{c.label} ({c.days} days)") for k, c in BUD_CATEGORIES.items()]
FORM_CHOICES = [(k, v[0]) for k, v in DOSAGE_FORMS.items()]


class FormulaForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=20)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    dosage_form = SelectField("Dosage form", choices=FORM_CHOICES)
    strength_min_mg = _decimal("Lowest strength (mg)", True)
    strength_max_mg = _decimal("Highest strength (mg)", True)
    concentration_mg_per_ml = _decimal("Concentration (mg/mL, liquids)")
    capsule_size = SelectField("Capsule size", choices=SIZE_CHOICES)
    packing_stat_mg = _decimal("Packing statistic F (mg of filler per capsule)")
    overage_percent = _decimal("Overage (%)", True)
    active_id = SelectField("Active ingredient", coerce=int)
    filler_id = SelectField("Filler (capsules)", coerce=int)
    shell_id = SelectField("Capsule shell", coerce=int)
    vehicle_id = SelectField("Vehicle (liquids)", coerce=int)
    bud_category = SelectField("BUD category (USP <795>)", choices=BUD_CHOICES)
    bud_days_override = IntegerField("BUD days from stability data", validators=[Optional()])
    stability_reference = TextAreaField("Stability reference", validators=[Optional()])
    storage = StringField("Storage", validators=[DataRequired(), Length(max=200)])
    container = StringField("Container", validators=[DataRequired(), Length(max=200)])
    method = TextAreaField("Method", validators=[DataRequired()])
    qc_requirements = TextAreaField("Quality checks", validators=[Optional()])
    qc_sample_size = IntegerField("Weight-check sample size", validators=[Optional()])
    weight_tolerance_percent = _decimal("Capsule fill tolerance (± %, at most 10)", True)
    api_tolerance_percent = _decimal("API weighing tolerance (± %, at most 10; blank: 5)")
    labelling_notes = TextAreaField("Labelling notes", validators=[Optional()])


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


class CalculatorForm(FlaskForm):
    formula_id = SelectField("Formula", coerce=int)
    kind = SelectField("Preparation", choices=[("capsules", "Capsules"), ("liquid", "Liquid")])
    strength_mg = _decimal("Strength per capsule (mg)")
    strength_basis = SelectField(
        "Strength is", choices=[("hcl", "naltrexone HCl"), ("base", "naltrexone base")]
    )
    quantity = _decimal("Capsules prescribed")
    overage_percent = _decimal("Overage (%) — blank: the formula's")
    capsule_size = SelectField("Capsule size — blank: the formula's", choices=SIZE_CHOICES)
    filler_name = StringField("Filler — blank: the formula's", validators=[Optional()])
    packing_stat_mg = _decimal("Packing statistic F (mg) — blank: the formula's")
    tapped_density = _decimal("Filler tapped density (mg/mL)")
    concentration_mg_per_ml = _decimal("Concentration (mg/mL) — blank: the formula's")
    volume_ml = _decimal("Volume prescribed (mL)")
    liquid_source = SelectField(
        "Naltrexone from", choices=[("api", "API powder"), ("tablets", "50 mg tablets")]
    )
    lot_id = SelectField("API lot", coerce=int)
    assay_percent = _decimal("Assay (%) — when no lot is chosen")
    assay_basis = SelectField(
        "Assay basis", choices=[("as_is", "as is"), ("anhydrous", "anhydrous")]
    )
    water_percent = _decimal("Water (%)")
    balance_id = SelectField("Balance", coerce=int)
    mwq_mg = _decimal("Minimum weighable quantity (mg) — when no balance is chosen")
    compounded_on = DateField("Compounding date", validators=[DataRequired()])
    bud_category = SelectField(
        "BUD category — blank: the formula's", choices=[("", "—")] + BUD_CHOICES
    )
