"""Balances: readability, minimum weighable quantity (MWQ), calibration due date, the daily
check with a check weight and the calibration history.

A balance may be chosen for a batch only while it is active and its calibration is not past
due (usable up to and including the due date). The batch screen calls `usable_balances`
to offer the choice and `require_usable_balance` to check what was submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import facility as facility_rules
from ..domain.balance_protocol import PROTOCOLS
from ..domain.bounds import date_problem
from ..domain.errors import FieldError, ValidationFailed
from ..models import Balance, BalanceCalibration, BalanceCheck, User
from . import audit
from .inventory import Page, _page, _text, parse_quantity

USABLE_BALANCES_LIMIT = 100


@dataclass(frozen=True)
class BalanceData:
    name: str
    readability_mg: object
    mwq_mg: object
    calibration_due: date | str | None
    notes: str = ""
    active: bool = True
    port: str = ""  # pyserial URL: /dev/ttyUSB0, COM3, socket://127.0.0.1:4001
    protocol: str = ""  # "mt-sics" or "sbi"; blank with the port: weights are typed


def _parse_date(value: date | str | None, field_name: str, errors: list[FieldError]) -> date | None:
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        errors.append(FieldError(field_name, "is required"))
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(field_name, f"{text!r} is not a date (use YYYY-MM-DD)"))
        return None
    problem = date_problem(day)
    if problem:
        errors.append(FieldError(field_name, problem))
        return None
    return day


# A compounding balance reads to 1 mg or better; anything coarser is a typo (g for mg).
MAX_READABILITY_MG = 100
MAX_MWQ_MG = 100_000


def _validate(session: Session, data: BalanceData, existing: Balance | None = None) -> dict:
    errors: list[FieldError] = []
    name = _text(data.name)
    if not name:
        errors.append(FieldError("name", "is required"))
    elif len(name) > 80:
        errors.append(FieldError("name", "is longer than 80 characters"))
    else:
        clash = session.scalar(
            select(Balance.id).where(func.lower(Balance.name) == name.lower()).limit(1)
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors.append(FieldError("name", f"a balance called '{name}' already exists"))
    readability = parse_quantity(data.readability_mg, "readability_mg", errors)
    mwq = parse_quantity(data.mwq_mg, "mwq_mg", errors)
    if readability is not None and readability > MAX_READABILITY_MG:
        errors.append(FieldError("readability_mg", f"must be at most {MAX_READABILITY_MG} mg"))
        readability = None
    if mwq is not None and mwq > MAX_MWQ_MG:
        errors.append(FieldError("mwq_mg", f"must be at most {MAX_MWQ_MG} mg"))
        mwq = None
    if readability is not None and mwq is not None and mwq < readability:
        errors.append(FieldError("mwq_mg", "cannot be below the readability of the balance"))
    due = _parse_date(data.calibration_due, "calibration_due", errors)
    port, protocol = _text(data.port) or None, _text(data.protocol) or None
    if protocol is not None and protocol not in PROTOCOLS:
        errors.append(FieldError("protocol", f"choose one of {', '.join(PROTOCOLS)}"))
    if port is not None and len(port) > 200:
        errors.append(FieldError("port", "is longer than 200 characters"))
    if (port is None) != (protocol is None):
        missing = "port" if port is None else "protocol"
        errors.append(FieldError(missing, "give both the port and the protocol, or neither"))
    if errors:
        raise ValidationFailed(errors)
    return {
        "name": name,
        "readability_mg": readability,
        "mwq_mg": mwq,
        "calibration_due": due,
        "notes": _text(data.notes),
        "active": bool(data.active),
        "port": port,
        "protocol": protocol,
    }


def create_balance(session: Session, actor: User, data: BalanceData) -> Balance:
    balance = Balance(**_validate(session, data))
    session.add(balance)
    session.flush()
    audit.record(
        session, actor, "balance.create", "balance", balance.id, None, audit.snapshot(balance)
    )
    return balance


def update_balance(session: Session, actor: User, balance: Balance, data: BalanceData) -> Balance:
    values = _validate(session, data, existing=balance)
    old = audit.snapshot(balance)
    for key, value in values.items():
        setattr(balance, key, value)
    session.flush()
    before, after = audit.changed(old, audit.snapshot(balance))
    if after:
        audit.record(session, actor, "balance.update", "balance", balance.id, before, after)
    return balance


def balance_problems(balance: Balance, on: date) -> list[str]:
    """Why `balance` cannot be used on `on` (empty when it can)."""
    problems = []
    if not balance.active:
        problems.append(f"balance {balance.name} is out of service")
    if balance.calibration_due < on:
        problems.append(
            f"balance {balance.name} was due for calibration on "
            f"{balance.calibration_due.isoformat()}"
        )
    return problems


def usable_balances(session: Session, on: date) -> list[Balance]:
    """Active balances whose calibration is not past due on `on`, by name."""
    return list(
        session.scalars(
            select(Balance)
            .where(Balance.active.is_(True), Balance.calibration_due >= on)
            .order_by(Balance.name, Balance.id)
            .limit(USABLE_BALANCES_LIMIT)
        )
    )


def require_usable_balance(
    session: Session, balance_id: int | None, on: date, field_name: str = "balance_id"
) -> Balance:
    balance = session.get(Balance, balance_id) if balance_id else None
    if balance is None:
        raise ValidationFailed.single(field_name, "choose a known balance")
    problems = balance_problems(balance, on)
    if problems:
        raise ValidationFailed([FieldError(field_name, p) for p in problems])
    return balance


def list_balances(session: Session, page: int = 1, per_page: int = 50) -> Page:
    return _page(
        select(Balance).order_by(Balance.active.desc(), Balance.name, Balance.id),
        session,
        page,
        per_page,
        stocks=False,
    )


# ---------------------------------------------------------------- daily checks and calibration


def record_daily_check(
    session: Session, actor: User, balance: Balance, nominal_mg, reading_mg, tolerance_mg
) -> BalanceCheck:
    """The daily check with a check weight. Outside the tolerance the balance goes out of
    service at once (it can no longer be chosen for a batch) until it is calibrated again."""
    errors: list[FieldError] = []
    nominal = parse_quantity(nominal_mg, "nominal_mg", errors)
    reading = parse_quantity(reading_mg, "reading_mg", errors, allow_zero=True)
    tolerance = parse_quantity(tolerance_mg, "tolerance_mg", errors)
    if errors:
        raise ValidationFailed(errors)
    passed = facility_rules.check_weight_passes(nominal, reading, tolerance)
    check = BalanceCheck(
        balance_id=balance.id,
        nominal_mg=nominal,
        reading_mg=reading,
        tolerance_mg=tolerance,
        passed=passed,
        checked_by_id=actor.id,
    )
    session.add(check)
    session.flush()
    audit.record(
        session, actor, "balance.daily_check", "balance", balance.id, None, audit.snapshot(check)
    )
    if not passed and balance.active:
        balance.active = False
        session.flush()
        audit.record(
            session,
            actor,
            "balance.out_of_service",
            "balance",
            balance.id,
            {"active": True},
            {"active": False},
            reason=f"daily check read {reading} mg for {nominal} mg (tolerance ±{tolerance} mg)",
        )
    return check


def record_calibration(
    session: Session,
    actor: User,
    balance: Balance,
    calibrated_on,
    next_due,
    performed_by: str,
    certificate: str = "",
) -> BalanceCalibration:
    """A calibration sets the next due date and puts the balance back in service."""
    errors: list[FieldError] = []
    done = _parse_date(calibrated_on, "calibrated_on", errors)
    due = _parse_date(next_due, "next_due", errors)
    if done and due and due <= done:
        errors.append(FieldError("next_due", "must be after the calibration date"))
    if done and done > date.today():
        errors.append(FieldError("calibrated_on", "cannot be in the future"))
    if not _text(performed_by):
        errors.append(FieldError("performed_by", "is required"))
    if errors:
        raise ValidationFailed(errors)
    row = BalanceCalibration(
        balance_id=balance.id,
        calibrated_on=done,
        next_due=due,
        performed_by=_text(performed_by)[:120],
        certificate=_text(certificate)[:80] or None,
        recorded_by_id=actor.id,
    )
    session.add(row)
    old = {"calibration_due": balance.calibration_due, "active": balance.active}
    balance.calibration_due, balance.active = due, True
    session.flush()
    audit.record(
        session,
        actor,
        "balance.calibrate",
        "balance",
        balance.id,
        old,
        {"calibration_due": due, "active": True, "calibration": row.id},
    )
    return row


def history(session: Session, balance_id: int, limit: int = 50) -> tuple[list, list]:
    checks = session.scalars(
        select(BalanceCheck)
        .where(BalanceCheck.balance_id == balance_id)
        .order_by(BalanceCheck.checked_at.desc(), BalanceCheck.id.desc())
        .limit(limit)
    )
    calibrations = session.scalars(
        select(BalanceCalibration)
        .where(BalanceCalibration.balance_id == balance_id)
        .order_by(BalanceCalibration.calibrated_on.desc(), BalanceCalibration.id.desc())
        .limit(limit)
    )
    return list(checks), list(calibrations)
