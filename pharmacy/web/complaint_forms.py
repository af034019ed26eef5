"""Form shapes for complaints and adverse events (the rules live in domain/complaints.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..domain.complaints import KINDS, REPORTER_ROLES, REVIEW_ACTIONS, SEVERITIES


class ComplaintForm(FlaskForm):
    kind = SelectField("Kind", choices=list(KINDS.items()))
    batch_number = StringField("Batch number", validators=[Length(max=60)])
    order_number = StringField("Order number (RX…-01)", validators=[Length(max=40)])
    reporter_name = StringField("Reported by", validators=[Length(max=120)])
    reporter_role = SelectField("Reporter is", choices=[(r, r.title()) for r in REPORTER_ROLES])
    reporter_contact = StringField("Reporter's contact", validators=[Length(max=200)])
    event_date = DateField("Date of the event", validators=[Optional()])
    received_on = DateField("Date received", validators=[Optional()])
    severity = SelectField("Severity", choices=list(SEVERITIES.items()))
    description = TextAreaField("What happened", validators=[Length(max=5000)])


class ReviewForm(FlaskForm):
    action = SelectField("Action", choices=list(REVIEW_ACTIONS.items()))
    notes = TextAreaField("Pharmacist's assessment", validators=[Length(max=5000)])
