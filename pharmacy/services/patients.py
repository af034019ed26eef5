"""Patients and prescribers: create, edit (audited), search by name, date of birth or phone."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..domain.errors import FieldError, ValidationFailed
from ..domain.npi import validate_npi
from ..models import Patient, Prescriber, User
from ..models.clinical import LIVER_DISEASE, name_key, phone_digits
from . import audit

SEXES = ("female", "male", "other", "unknown")
SEARCH_LIMIT = 25
_AUDIT_EXCLUDE = ("name_key", "phone_digits", "phone_reversed", "created_at", "updated_at")


@dataclass
class PatientInput:
    first_name: str
    last_name: str
    date_of_birth: date | None
    sex: str
    address: str = ""
    phone: str = ""
    allergies: str = ""
    medications: str = ""
    pregnant: bool = False
    breastfeeding: bool = False
    liver_disease: str = "none"


@dataclass
class PrescriberInput:
    first_name: str
    last_name: str
    credentials: str
    npi: str
    address: str = ""
    phone: str = ""


def _clean(values: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}


def _required(values: dict, names: tuple[str, ...], errors: list[FieldError]) -> None:
    for name in names:
        if not values.get(name):
            errors.append(FieldError(name, f"{name.replace('_', ' ')} is required"))


def _validate_patient(values: dict, today: date) -> None:
    errors: list[FieldError] = []
    _required(values, ("first_name", "last_name"), errors)
    dob = values.get("date_of_birth")
    if dob is None:
        errors.append(FieldError("date_of_birth", "date of birth is required"))
    elif dob > today:
        errors.append(FieldError("date_of_birth", f"{dob.isoformat()} is in the future"))
    elif dob.year < 1900:
        errors.append(FieldError("date_of_birth", f"{dob.isoformat()} is before 1900"))
    if values.get("sex") not in SEXES:
        errors.append(FieldError("sex", f"sex must be one of {', '.join(SEXES)}"))
    if values.get("liver_disease") not in LIVER_DISEASE:
        errors.append(
            FieldError("liver_disease", f"liver disease must be one of {', '.join(LIVER_DISEASE)}")
        )
    if values.get("phone") and len(phone_digits(values["phone"])) < 7:
        errors.append(FieldError("phone", "a phone number has at least 7 digits"))
    if values.get("pregnant") and values.get("sex") == "male":
        errors.append(FieldError("pregnant", "a patient recorded as male cannot be pregnant"))
    if errors:
        raise ValidationFailed(errors)


# A change to any of these re-screens the patient's open prescriptions (services.rescreen).
SCREENED_FIELDS = frozenset(
    {"allergies", "medications", "pregnant", "breastfeeding", "liver_disease"}
)


def _patient_view(patient: Patient) -> dict:
    return audit.snapshot(patient, exclude=_AUDIT_EXCLUDE)


def check_patient(data: PatientInput, today: date | None = None) -> None:
    """The patient rules alone (nothing written): lets a form show every error at once."""
    _validate_patient(_clean(asdict(data)), today or date.today())


def check_prescriber(session: Session, data: PrescriberInput, current_id: int | None) -> None:
    _validate_prescriber(session, _clean(asdict(data)), current_id)


def create_patient(
    session: Session, actor: User, data: PatientInput, today: date | None = None
) -> Patient:
    values = _clean(asdict(data))
    _validate_patient(values, today or date.today())
    patient = Patient(**values)
    session.add(patient)
    session.flush()
    audit.record(
        session, actor, "patient.create", "patient", patient.id, None, _patient_view(patient)
    )
    return patient


def update_patient(
    session: Session, actor: User, patient: Patient, data: PatientInput, today: date | None = None
) -> Patient:
    values = _clean(asdict(data))
    _validate_patient(values, today or date.today())
    old = _patient_view(patient)
    for key, value in values.items():
        setattr(patient, key, value)
    session.flush()
    before, after = audit.changed(old, _patient_view(patient))
    if after:
        audit.record(session, actor, "patient.update", "patient", patient.id, before, after)
    if SCREENED_FIELDS & after.keys():
        from .rescreen import rescreen_patient

        rescreen_patient(session, actor, patient, today)
    return patient


def parse_date(text: str) -> date | None:
    """A date as typed in a search box: 1961-04-12, 04/12/1961 or 4/12/1961 (US order)."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not m:
            return None
        mo, d, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def is_phone_query(text: str) -> bool:
    return bool(re.fullmatch(r"[\d\s().+-]+", text)) and len(phone_digits(text)) >= 4


def search_terms(text: str) -> tuple[str, tuple]:
    """How a patient search reads: ("dob", (date,)), ("phone", (digits,)), or ("name", keys)
    with the name-key prefixes to look for (none when nothing searchable was typed)."""
    text = text.strip()
    dob = parse_date(text)
    if dob is not None:
        return "dob", (dob,)
    if is_phone_query(text):
        return "phone", (phone_digits(text),)
    words = [w for w in re.split(r"[\s,]+", text.casefold()) if w]
    escaped = [w.replace("\\", "").replace("%", "").replace("_", "") for w in words]
    keys = [" ".join(escaped)]  # "ellis marg" -> last name then first name
    if len(escaped) == 2 and "," not in text:
        keys.append(f"{escaped[1]} {escaped[0]}")  # "margaret ellis"
    return "name", tuple(k for k in keys if k)


def patient_filter(text: str):
    """The WHERE clause for a patient search: date of birth, phone, or name prefix."""
    kind, values = search_terms(text)
    if kind == "dob":
        return Patient.date_of_birth == values[0]
    if kind == "phone":
        return phone_suffix(values[0])
    return or_(*[name_key_prefix(k) for k in values])


def phone_suffix(digits: str):
    """Patients whose phone number ends with `digits` (the whole number included): a range on
    the reversed digits, which the index serves."""
    rev = digits[::-1]
    return and_(Patient.phone_reversed >= rev, Patient.phone_reversed < after_prefix(rev))


def after_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (binary order),
    or None when there is none."""
    while prefix and prefix[-1] == chr(0x10FFFF):
        prefix = prefix[:-1]
    if not prefix:
        return None
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters (code point order holds)
        following = 0xE000
    return prefix[:-1] + chr(following)


def name_key_prefix(prefix: str):
    """name_key starts with `prefix`, as a range the name_key index serves on every backend
    (SQLite's LIKE is case-insensitive and PostgreSQL's needs a pattern index, so neither uses a
    plain btree for LIKE 'prefix%'). name_key compares in binary order: SQLite's default, and
    COLLATE "C" on PostgreSQL (migration 0006)."""
    upper = after_prefix(prefix)
    if upper is None:
        return Patient.name_key >= prefix
    return and_(Patient.name_key >= prefix, Patient.name_key < upper)


def search_patients(session: Session, text: str, limit: int = SEARCH_LIMIT) -> list[Patient]:
    if not text.strip():
        return []
    stmt = (
        select(Patient)
        .where(patient_filter(text))
        .order_by(Patient.name_key, Patient.date_of_birth, Patient.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


# --- prescribers -----------------------------------------------------------------------------


def _validate_prescriber(session: Session, values: dict, current_id: int | None) -> dict:
    errors: list[FieldError] = []
    _required(values, ("first_name", "last_name"), errors)
    try:
        values["npi"] = validate_npi(values.get("npi") or "")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    else:
        clash = session.scalar(select(Prescriber).where(Prescriber.npi == values["npi"]))
        if clash is not None and clash.id != current_id:
            errors.append(
                FieldError(
                    "npi", f"NPI {values['npi']} is already recorded for {clash.display_name}"
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return values


def create_prescriber(session: Session, actor: User, data: PrescriberInput) -> Prescriber:
    values = _validate_prescriber(session, _clean(asdict(data)), None)
    prescriber = Prescriber(**values)
    session.add(prescriber)
    session.flush()
    audit.record(
        session,
        actor,
        "prescriber.create",
        "prescriber",
        prescriber.id,
        None,
        audit.snapshot(prescriber, exclude=("created_at", "updated_at")),
    )
    return prescriber


def update_prescriber(
    session: Session, actor: User, prescriber: Prescriber, data: PrescriberInput
) -> Prescriber:
    values = _validate_prescriber(session, _clean(asdict(data)), prescriber.id)
    old = audit.snapshot(prescriber, exclude=("created_at", "updated_at"))
    for key, value in values.items():
        setattr(prescriber, key, value)
    session.flush()
    before, after = audit.changed(
        old, audit.snapshot(prescriber, exclude=("created_at", "updated_at"))
    )
    if after:
        audit.record(
            session, actor, "prescriber.update", "prescriber", prescriber.id, before, after
        )
    return prescriber


def search_prescribers(session: Session, text: str, limit: int = SEARCH_LIMIT) -> list[Prescriber]:
    stmt = select(Prescriber).order_by(Prescriber.last_name, Prescriber.first_name).limit(limit)
    text = text.strip()
    if text.isdigit():
        stmt = stmt.where(Prescriber.npi.startswith(text))
    elif text:
        stmt = stmt.where(Prescriber.last_name.ilike(f"{text.replace('%', '')}%"))
    return list(session.scalars(stmt))


__all__ = [
    "PatientInput",
    "PrescriberInput",
    "create_patient",
    "create_prescriber",
    "name_key",
    "search_patients",
    "search_prescribers",
    "update_patient",
    "update_prescriber",
]
