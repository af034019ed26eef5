"""Form shapes for patients, prescribers, prescriptions and orders (rules live in services)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..domain.formula_rules import DOSAGE_FORMS
from ..models.clinical import LIVER_DISEASE
from ..services.orders import DISPENSE_METHODS
from ..services.patients import SEXES
from ..services.prescriptions import DEFAULT_SIG
from .fields import DateField, DecimalField, IntegerField

LIVER_LABELS = {
    "none": "None",
    "acute_hepatitis": "Acute hepatitis",
    "liver_failure": "Liver failure",
    "other": "Other liver disease",
}


class PatientForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired(), Length(max=80)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=80)])
    date_of_birth = DateField("Date of birth", validators=[DataRequired()])
    sex = SelectField("Sex", choices=[(s, s.title()) for s in SEXES])
    phone = StringField("Phone", validators=[Length(max=40)])
    address = TextAreaField("Address", validators=[Length(max=1000)])
    allergies = TextAreaField("Allergies (one per line)", validators=[Length(max=4000)])
    medications = TextAreaField("Current medications (one per line)", validators=[Length(max=4000)])
    pregnant = BooleanField("Pregnant")
    breastfeeding = BooleanField("Breastfeeding")
    liver_disease = SelectField(
        "Liver disease", choices=[(v, LIVER_LABELS[v]) for v in LIVER_DISEASE]
    )


class PrescriberForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired(), Length(max=80)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=80)])
    credentials = StringField("Credentials (MD, DO, NP…)", validators=[Length(max=40)])
    npi = StringField("NPI", validators=[DataRequired(), Length(max=20)])
    phone = StringField("Phone", validators=[Length(max=40)])
    address = TextAreaField("Practice address", validators=[Length(max=1000)])


def _in_two_days() -> date:
    return date.today() + timedelta(days=2)


class PrescriptionForm(FlaskForm):
    patient_id = HiddenField()
    prescriber_id = SelectField("Prescriber", coerce=str, validate_choice=False)
    date_written = DateField("Date written", validators=[Optional()], default=date.today)
    dosage_form = SelectField(
        "Dosage form", choices=[(k, v[0]) for k, v in DOSAGE_FORMS.items()], default="capsule"
    )
    formula_id = SelectField("Formula (optional)", coerce=str, validate_choice=False)
    strength_mg = DecimalField("Strength (mg per dose)", validators=[Optional()])
    strength_basis = SelectField(
        "Strength is", choices=[("hcl", "Naltrexone HCl"), ("base", "Naltrexone base")]
    )
    quantity = DecimalField("Quantity (capsules or mL)", validators=[Optional()])
    doses_per_day = IntegerField("Doses per day", default=1, validators=[Optional()])
    directions = TextAreaField(
        "Directions (sig)", default=DEFAULT_SIG, validators=[Length(max=1000)]
    )
    refills_authorized = IntegerField("Refills authorised", default=0, validators=[Optional()])
    indication = StringField("Indication", validators=[Length(max=500)])
    icd10_code = StringField("ICD-10 code (optional)", validators=[Length(max=10)])
    titration = TextAreaField(
        "Titration plan (optional, one step a line)", validators=[Length(max=2000)]
    )
    promised_on = DateField("Promised date", default=_in_two_days, validators=[Optional()])


class VerifyForm(FlaskForm):
    override_reason = TextAreaField("Override reason", validators=[Length(max=2000)])


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[Length(max=1000)])


class RefillForm(FlaskForm):
    promised_on = DateField("Promised date", default=_in_two_days, validators=[Optional()])


class TransitionForm(FlaskForm):
    target = HiddenField(validators=[DataRequired()])
    reason = StringField("Reason", validators=[Length(max=1000)])
    dispensed_via = SelectField(
        "Dispensed by",
        choices=[("", "—")]
        + [(m, "Pick-up" if m == "pickup" else "Shipped") for m in DISPENSE_METHODS],
        validate_choice=False,
    )
