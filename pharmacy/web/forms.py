"""Form shapes only (required, formats). The rules themselves live in services and domain."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length

from ..models import ROLES

SIGNATURE_LABEL = "Your password (electronic signature)"


def signature_field() -> PasswordField:
    """The signer re-enters their password; the service says when it is missing or wrong."""
    return PasswordField(SIGNATURE_LABEL, validators=[Length(max=256)])


class SignForm(FlaskForm):
    password = signature_field()


def note_refusal(exc) -> None:
    """After a refused action: a wrong signing password counts as a failed sign-in attempt."""
    from flask import request

    from ..database import unit_of_work
    from ..services.signatures import SignatureRefused, record_refusal

    if isinstance(exc, SignatureRefused):
        with unit_of_work() as s:
            record_refusal(s, exc, request.remote_addr)


def sign_off(password: str | None):
    from flask import current_app

    from ..services.signatures import SignOff

    return SignOff(password or "", current_app.config.get("PASSWORD_HASHER"))


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=60)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired()])
    confirm_password = PasswordField("Repeat new password", validators=[DataRequired()])


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class UserForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=60)])
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    initials = StringField("Initials", validators=[DataRequired(), Length(max=8)])
    password = PasswordField("Password", validators=[DataRequired()])
    roles = MultiCheckbox("Roles", choices=[(r, r.title()) for r in ROLES])


class EditUserForm(FlaskForm):
    roles = MultiCheckbox("Roles", choices=[(r, r.title()) for r in ROLES])
    active = BooleanField("Account active")
    reason = StringField("Reason for the change", validators=[Length(max=500)])


class ProfileForm(FlaskForm):
    name = StringField("Pharmacy name", validators=[DataRequired(), Length(max=200)])
    address = TextAreaField("Address", validators=[DataRequired()])
    phone = StringField("Phone", validators=[DataRequired(), Length(max=40)])
    licence_number = StringField("Licence number", validators=[DataRequired(), Length(max=60)])


class PharmacyForm(ProfileForm):
    """The administrator's pharmacy page: the details plus the default label stock."""

    default_label_stock = SelectField("Default label stock", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        import labels

        super().__init__(*args, **kwargs)
        self.default_label_stock.choices = [(s.code, s.description) for s in labels.STOCKS.values()]


class SetupForm(ProfileForm):
    username = StringField("Your user name", validators=[DataRequired(), Length(max=60)])
    full_name = StringField("Your full name", validators=[DataRequired(), Length(max=120)])
    initials = StringField("Your initials", validators=[DataRequired(), Length(max=8)])
    password = PasswordField("Password", validators=[DataRequired()])


class TokenForm(FlaskForm):
    name = StringField("What the token is for", validators=[DataRequired(), Length(max=80)])


def apply_errors(form: FlaskForm, failure) -> None:
    """Show domain/service field errors next to the matching form field."""
    for err in failure.errors:
        name = err.field.split(".")[-1]
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), err.message]
        else:
            from ..errors import plain_error

            form.form_errors.append(plain_error(err.field, err.message))


def validate_all(form: FlaskForm, check=None) -> bool:
    """Form shape checks and, on a failed submit, the service's own rule checks too, so a
    person sees every error on the first submit rather than one round per layer.

    `check` runs the service's validation without writing (raises ValidationFailed); its
    errors are added only to fields the form's own checks did not already flag."""
    from flask import request

    from ..domain.errors import ValidationFailed

    if form.validate_on_submit():
        return True
    if request.method == "POST" and check is not None:
        try:
            check()
        except ValidationFailed as exc:
            flagged = {name for name, errs in form.errors.items() if errs}
            apply_errors(
                form,
                type(exc)([e for e in exc.errors if e.field.split(".")[-1] not in flagged]),
            )
        except (TypeError, ValueError, AttributeError):
            pass  # a value the form could not parse: its own error already says so
    return False
