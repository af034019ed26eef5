"""Form shapes for ingredients, lots, adjustments and balances. Quantities are text fields:
the services parse them exactly and name the field when they are wrong."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..domain.balance_protocol import PROTOCOLS
from ..models.inventory import ADJUSTMENT_KINDS, INGREDIENT_KINDS
from ..models.types import UNITS
from ..services.inventory import CAPSULE_SIZES, SALT_FORMS


def _label(value: str) -> str:
    return value.replace("_", " ")


class IngredientForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    kind = SelectField(
        validate_choice=False, label="Kind", choices=[(k, _label(k)) for k in INGREDIENT_KINDS]
    )
    unit = SelectField(validate_choice=False, label="Counted in", choices=[(u, u) for u in UNITS])
    salt_form = SelectField(
        validate_choice=False,
        label="Salt form (API)",
        choices=[("", "—")] + [(s, s) for s in SALT_FORMS],
    )
    molecular_weight = StringField("Molecular weight (g/mol)", validators=[Length(max=20)])
    base_molecular_weight = StringField(
        "Base molecular weight (g/mol)", validators=[Length(max=20)]
    )
    tapped_density_mg_per_ml = StringField("Tapped density (mg/mL)", validators=[Length(max=20)])
    capsule_size = SelectField(
        validate_choice=False,
        label="Capsule size (shells)",
        choices=[("", "—")] + [(s, s) for s in CAPSULE_SIZES],
    )
    capsule_colour = StringField("Capsule colour (shells)", validators=[Length(max=30)])
    reorder_point = StringField("Reorder point", validators=[Length(max=20)])
    gtin = StringField("GTIN (supplier barcode)", validators=[Length(max=20)])
    active = BooleanField("In use", default=True)


class LotReceiptForm(FlaskForm):
    ingredient_id = SelectField(validate_choice=False, label="Ingredient", coerce=int)
    lot_number = StringField("Lot number", validators=[Length(max=60)])
    supplier = StringField("Supplier", validators=[Length(max=120)])
    manufacturer = StringField("Manufacturer", validators=[Length(max=120)])
    expiry = StringField("Expiry", validators=[Length(max=20)])
    quantity = StringField("Quantity received", validators=[Length(max=20)])
    unit = SelectField(validate_choice=False, label="Unit", choices=[(u, u) for u in UNITS])
    assay_percent = StringField("CoA assay %", validators=[Length(max=20)])
    assay_basis = SelectField(
        validate_choice=False,
        label="Assay basis",
        choices=[("", "—"), ("as_is", "as is"), ("anhydrous", "anhydrous (dried basis)")],
    )
    water_percent = StringField("CoA water content %", validators=[Length(max=20)])


class LotDecisionForm(FlaskForm):
    target = SelectField(label="Decision", choices=[])
    reason = TextAreaField("Reason", validators=[Length(max=1000)])


class AdjustmentForm(FlaskForm):
    kind = SelectField(
        validate_choice=False, label="Kind", choices=[(k, _label(k)) for k in ADJUSTMENT_KINDS]
    )
    quantity = StringField("Quantity", validators=[Length(max=20)])
    unit = SelectField(
        validate_choice=False,
        label="Unit",
        choices=[(u, u) for u in UNITS],
        validators=[Optional()],
    )
    reason = TextAreaField("Reason", validators=[Length(max=1000)])


class BalanceForm(FlaskForm):
    name = StringField("Name / asset tag", validators=[Length(max=80)])
    readability_mg = StringField("Readability (mg)", validators=[Length(max=20)])
    mwq_mg = StringField("Minimum weighable quantity (mg)", validators=[Length(max=20)])
    calibration_due = StringField("Calibration due", validators=[Length(max=10)])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
    active = BooleanField("In service", default=True)
    port = StringField("Serial port", validators=[Length(max=200)])
    protocol = SelectField(
        validate_choice=False,
        label="Protocol",
        choices=[("", "— (weights are typed)")] + list(PROTOCOLS.items()),
    )
