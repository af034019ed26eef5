"""Form shapes for batches (compounding records). The rules live in services.batches."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from ..domain.errors import ValidationFailed
from .fields import DecimalField, IntegerField
from .forms import signature_field


def _decimal(label: str) -> DecimalField:
    return DecimalField(label, places=None, validators=[Optional()])


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class StartForm(FlaskForm):
    formula_id = SelectField("Master formulation record", coerce=int)
    strength_mg = _decimal("Strength (mg per capsule, or mg/mL) — blank: the orders'")
    strength_basis = SelectField(
        "Strength is", choices=[("hcl", "naltrexone HCl"), ("base", "naltrexone base")]
    )
    quantity = _decimal("Quantity (capsules, or mL) — blank: the orders' total")
    balance_id = SelectField("Balance", coerce=int)
    order_ids = MultiCheckbox("Verified orders this batch serves", coerce=int)
    override_lot_ids = SelectMultipleField(
        "Use these lots instead of first-expiry-first-out (optional)", coerce=int
    )
    override_reason = StringField(
        "Reason for choosing other lots", validators=[Optional(), Length(max=500)]
    )
    potency_acceptance = StringField(
        "Potency outside 98.0–102.0 %: acceptance", validators=[Optional(), Length(max=500)]
    )
    allergy_override = StringField(
        "Excipient allergy: pharmacist's reason to go ahead",
        validators=[Optional(), Length(max=500)],
    )


def weights_form_class(batch, balance_choices: list[tuple[int, str]]) -> type[FlaskForm]:
    """One actual-quantity field per lot used (balance and deviation reason alongside)."""

    class WeightsForm(FlaskForm):
        pass

    for u in batch.lot_usages:
        setattr(WeightsForm, f"actual_{u.id}", _decimal(f"Actual ({u.unit})"))
        setattr(
            WeightsForm,
            f"reason_{u.id}",
            StringField("Deviation reason", validators=[Optional(), Length(max=500)]),
        )
        setattr(
            WeightsForm,
            f"scan_{u.id}",
            StringField("Scan the container", validators=[Optional(), Length(max=200)]),
        )
        if u.unit in ("mg", "g"):
            setattr(
                WeightsForm,
                f"balance_{u.id}",
                SelectField("Balance", coerce=int, choices=balance_choices),
            )
            setattr(WeightsForm, f"capture_{u.id}", HiddenField(validators=[Optional()]))
    return WeightsForm


class QcForm(FlaskForm):
    weights = TextAreaField("Gross capsule weights (mg), one per line")
    shell_mg = _decimal("Empty shell weight (mg)")
    final_volume_ml = _decimal("Final volume (mL)")
    appearance = StringField("Appearance", validators=[DataRequired(), Length(max=500)])
    appearance_ok = BooleanField("Appearance acceptable")
    units_made = IntegerField("Units made (capsules, or mL)", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])


def parse_weights(text: str | None) -> tuple[Decimal, ...]:
    out = []
    for i, part in enumerate((text or "").replace(",", " ").split()):
        try:
            value = Decimal(part)
        except InvalidOperation:
            raise ValidationFailed.single(
                "weights", f"weight {i + 1} ({part!r}) is not a number"
            ) from None
        if not value.is_finite():
            raise ValidationFailed.single("weights", f"weight {i + 1} is not a number")
        out.append(value)
    return tuple(out)


class QcCorrectionForm(FlaskForm):
    what = SelectField(
        "Figure",
        choices=[
            ("gross_mg", "Capsule gross weight"),
            ("shell_mg", "Empty shell weight"),
            ("final_volume_ml", "Final volume"),
        ],
    )
    number = IntegerField("Capsule number", validators=[Optional()])
    value = _decimal("Correct value")
    reason = StringField("Why it was wrong", validators=[Optional(), Length(max=500)])


class NoteForm(FlaskForm):
    reason = StringField("Reason / note", validators=[Optional(), Length(max=500)])


class ReleaseForm(NoteForm):
    password = signature_field()


class DispenseForm(FlaskForm):
    order_id = SelectField("Order", coerce=int)
    quantity = _decimal("Units")
    bud_short_reason = StringField(
        "BUD ends before the days' supply: pharmacist's reason",
        validators=[Optional(), Length(max=500)],
    )


class TraceForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    lot_id = SelectField("Ingredient lot", coerce=int, validators=[Optional()])
