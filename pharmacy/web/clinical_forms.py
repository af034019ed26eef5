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
from ..services.prescription_dose import DEFAULT_WHEN
from .fields import DateField, DecimalField, IntegerField
from .forms import signature_field

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
    dose_mg = DecimalField("Dose (mg each time)", validators=[Optional()])
    strength_mg = DecimalField(
        "Product strength (mg per capsule, or mg/mL)", validators=[Optional()]
    )
    strength_basis = SelectField(
        "Strength is", choices=[("hcl", "Naltrexone HCl"), ("base", "Naltrexone base")]
    )
    quantity = DecimalField("Quantity (capsules or mL)", validators=[Optional()])
    doses_per_day = IntegerField("Doses per day", default=1, validators=[Optional()])
    when = StringField("When", default=DEFAULT_WHEN, validators=[Length(max=200)])
    extra_directions = StringField(
        "Additional directions (optional)", validators=[Length(max=1000)]
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


class SignedVerifyForm(VerifyForm):
    """The prescription's verification carries the pharmacist's electronic signature."""

    password = signature_field()


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[Length(max=1000)])


class RefillForm(FlaskForm):
    promised_on = DateField("Promised date", default=_in_two_days, validators=[Optional()])


class TransitionForm(FlaskForm):
    """Hold, resume or cancel (every other move is its own step)."""

    target = HiddenField(validators=[DataRequired()])
    reason = StringField("Reason", validators=[Length(max=1000)])


class FinalCheckForm(FlaskForm):
    notes = TextAreaField("Notes (optional)", validators=[Length(max=2000)])
    override_reason = TextAreaField("Override reason", validators=[Length(max=2000)])
    password = signature_field()


class HandoutForm(FlaskForm):
    method = SelectField(
        "How",
        choices=[(m, "Picked up" if m == "pickup" else "Shipped") for m in DISPENSE_METHODS],
        validate_choice=False,
    )
    counsel_outcome = SelectField(
        "Offer to counsel",
        choices=[
            ("", "— record the offer —"),
            ("accepted", "Offered: accepted (pharmacist counselled)"),
            ("declined", "Offered: declined"),
        ],
        validate_choice=False,
    )
    counsel_notes = TextAreaField("Counselling notes", validators=[Length(max=2000)])
    scan_waived_reason = TextAreaField(
        "No scan possible: why (pharmacist)", validators=[Length(max=1000)]
    )
    override_reason = TextAreaField(
        "New contraindication: override reason (pharmacist)", validators=[Length(max=2000)]
    )
