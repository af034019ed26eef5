"""The database backstop: no row is written with a value its column cannot hold.

Whatever path a value took (a form, the API, a service computing it), a text longer than its
column, a NUL character (PostgreSQL refuses it), an integer beyond 32 bits or a date outside
1900-2199 is refused as a field error (422) before the INSERT, never a database error (500).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, event, inspect
from sqlalchemy.orm import Session

from .database import ExactDecimal
from .domain import bounds
from .domain.errors import FieldError, ValidationFailed


def _problem(column, value) -> str | None:
    kind = column.type
    if isinstance(kind, ExactDecimal):
        try:
            kind._check(value)
        except (ValueError, TypeError, ArithmeticError):
            return (
                f"is out of range for this quantity (at most {kind.precision - kind.scale} "
                f"digits before and {kind.scale} after the decimal point)"
            )
        return None
    if isinstance(value, str) and isinstance(kind, String):
        if kind.length and len(value) > kind.length:
            return f"is too long (at most {kind.length} characters)"
        if "\x00" in value:
            return "must not contain NUL characters"
    elif isinstance(value, int) and not isinstance(value, bool) and isinstance(kind, Integer):
        if not isinstance(kind, BigInteger):
            return bounds.int_problem(value)
    elif isinstance(value, date) and not isinstance(value, datetime) and isinstance(kind, Date):
        return bounds.date_problem(value)
    return None


def _check(session: Session, _context, _instances) -> None:
    errors = []
    for obj, is_new in [(o, True) for o in session.new] + [(o, False) for o in session.dirty]:
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            if not is_new and not state.attrs[attr.key].history.has_changes():
                continue
            value = state.dict.get(attr.key)
            if value is None:
                continue
            problem = _problem(attr.columns[0], value)
            if problem:
                errors.append(FieldError(attr.key, problem))
    if errors:
        raise ValidationFailed(errors)


def install() -> None:
    if not event.contains(Session, "before_flush", _check):
        event.listen(Session, "before_flush", _check)
