"""Complaints and adverse events: what a report must contain. Pure rules, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import FieldError

KINDS = {"complaint": "Product complaint", "adverse_event": "Adverse event"}
SEVERITIES = {
    "mild": "Mild",
    "moderate": "Moderate",
    "severe": "Severe (hospitalisation, disability or required intervention)",
    "life_threatening": "Life-threatening or death",
}
REPORTER_ROLES = ("patient", "caregiver", "prescriber", "pharmacist", "staff", "other")
REVIEW_ACTIONS = {
    "none": "No further action",
    "trace": "Trace the batch's recipients",
    "recall": "Recall the batch",
}
MIN_TEXT = 10


@dataclass(frozen=True)
class ReportFacts:
    kind: str
    severity: str
    reporter_name: str
    reporter_role: str
    event_date: date | None
    received_on: date | None
    description: str


def problems(f: ReportFacts, today: date) -> list[FieldError]:
    errors = []
    if f.kind not in KINDS:
        errors.append(FieldError("kind", "choose a complaint or an adverse event"))
    if f.severity not in SEVERITIES:
        errors.append(FieldError("severity", "choose " + ", ".join(SEVERITIES)))
    if not f.reporter_name.strip():
        errors.append(FieldError("reporter_name", "is required: who reported it"))
    if f.reporter_role not in REPORTER_ROLES:
        errors.append(FieldError("reporter_role", "choose " + ", ".join(REPORTER_ROLES)))
    if f.event_date is None:
        errors.append(FieldError("event_date", "is required"))
    elif f.event_date > today:
        errors.append(FieldError("event_date", "cannot be in the future"))
    if f.received_on is None:
        errors.append(FieldError("received_on", "is required"))
    elif f.received_on > today:
        errors.append(FieldError("received_on", "cannot be in the future"))
    elif f.event_date is not None and f.received_on < f.event_date:
        errors.append(FieldError("received_on", "cannot be before the event happened"))
    if len(f.description.strip()) < MIN_TEXT:
        errors.append(
            FieldError("description", f"describe what happened (at least {MIN_TEXT} characters)")
        )
    return errors


def review_problems(action: str, notes: str, batch_status: str | None) -> list[FieldError]:
    errors = []
    if action not in REVIEW_ACTIONS:
        errors.append(FieldError("action", "choose " + ", ".join(REVIEW_ACTIONS)))
    if len(notes.strip()) < MIN_TEXT:
        errors.append(
            FieldError(
                "notes", f"write the pharmacist's assessment (at least {MIN_TEXT} characters)"
            )
        )
    if action in ("trace", "recall") and batch_status is None:
        errors.append(FieldError("action", "needs a batch: this report names no batch"))
    if action == "recall" and batch_status not in (None, "released"):
        errors.append(
            FieldError("action", f"only a released batch can be recalled (it is {batch_status})")
        )
    return errors


def is_serious(severity: str) -> bool:
    """Serious events are reported to FDA MedWatch (3500) / the state board."""
    return severity in ("severe", "life_threatening")
