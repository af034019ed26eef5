"""Ingredient lots: expiry dates, whether a lot may be used, FEFO order, stock on hand.

A lot is good through its expiry date (inclusive). A month-only expiry ("EXP 03/2026") means
the last day of that month (USP convention). Stock on hand is never stored: it is the sum of
receipts minus usages, recomputed from the movement history.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pharmacy.domain.bounds import date_problem
from pharmacy.domain.errors import ValidationFailed

USABLE_STATUS = "released"
DEFAULT_EXPIRY_WARNING_DAYS = 60

_MONTH_ONLY = (re.compile(r"(\d{4})-(\d{1,2})"), re.compile(r"(\d{1,2})\s*/\s*(\d{4})"))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def in_range(day: date, field: str) -> date:
    """A date within the app's bounds (1900-2199), or a field error."""
    problem = date_problem(day)
    if problem:
        raise ValidationFailed.single(field, problem)
    return day


def parse_expiry(text: str, field: str = "expiry") -> date:
    """Accept "2026-03-15", "2026-03" or "03/2026"; a month alone means its last day."""
    value = text.strip() if isinstance(text, str) else ""
    try:
        return in_range(date.fromisoformat(value), field)
    except ValueError:
        pass
    for i, pattern in enumerate(_MONTH_ONLY):
        match = pattern.fullmatch(value)
        if match:
            year, month = map(int, match.groups() if i == 0 else reversed(match.groups()))
            if 1 <= month <= 12 and year >= 1:
                return in_range(month_end(year, month), field)
    raise ValidationFailed.single(
        field, f"{text!r} is not an expiry date (use 2026-03-15, 2026-03 or 03/2026)"
    )


@dataclass(frozen=True)
class Lot:
    id: Hashable
    expiry: date
    status: str  # lifecycle.LOT status
    on_hand: Decimal | None = None  # None when stock is not being checked
    received_on: date | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Usability:
    usable: bool
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


def usability(lot: Lot, on: date, needed: Decimal | None = None) -> Usability:
    """Whether `lot` may go into a preparation made on `on`, and every reason if not."""
    reasons: list[Reason] = []
    if lot.status != USABLE_STATUS:
        # quarantined, rejected and recalled each carry their own code
        reasons.append(Reason(lot.status, f"lot {lot.id} is {lot.status.replace('_', ' ')}"))
    if on > lot.expiry:
        reasons.append(Reason("expired", f"lot {lot.id} expired on {lot.expiry.isoformat()}"))
    if lot.on_hand is not None:
        if lot.on_hand <= 0:
            reasons.append(Reason("out_of_stock", f"lot {lot.id} has no stock left"))
        elif needed is not None and lot.on_hand < needed:
            reasons.append(
                Reason(
                    "insufficient_stock",
                    f"lot {lot.id} holds {lot.on_hand.normalize():f}, {needed.normalize():f} is needed",
                )
            )
    return Usability(not reasons, tuple(reasons))


def is_usable(lot: Lot, on: date, needed: Decimal | None = None) -> bool:
    return usability(lot, on, needed).usable


def fefo(lots: Iterable[Lot], on: date, needed: Decimal | None = None) -> list[Lot]:
    """Usable lots, first expiry first out; ties go to the lot received first, then by id."""
    usable = [lot for lot in lots if is_usable(lot, on, needed)]
    return sorted(usable, key=lambda lot: (lot.expiry, lot.received_on or date.max, str(lot.id)))


def first_fefo(lots: Iterable[Lot], on: date, needed: Decimal | None = None) -> Lot | None:
    ordered = fefo(lots, on, needed)
    return ordered[0] if ordered else None


def expiring_within(
    lots: Iterable[Lot], on: date, days: int = DEFAULT_EXPIRY_WARNING_DAYS
) -> list[Lot]:
    """Lots not yet expired whose expiry falls within `days` of `on`, soonest first."""
    horizon = on + timedelta(days=days)
    return sorted((lot for lot in lots if on <= lot.expiry <= horizon), key=lambda lot: lot.expiry)


@dataclass(frozen=True)
class Movement:
    lot_id: Hashable
    quantity: Decimal  # positive; the list it is in says whether it came in or went out
    unit: str


def stock_on_hand(
    receipts: Sequence[Movement], usages: Sequence[Movement]
) -> dict[Hashable, tuple[Decimal, str]]:
    """(quantity, unit) per lot: receipts minus usages.

    A negative result is returned as is rather than clamped: it can only come from a usage
    recorded without enough stock, which the caller must see.
    """
    totals: dict[Hashable, tuple[Decimal, str]] = {}
    for sign, movements in ((1, receipts), (-1, usages)):
        for m in movements:
            if not isinstance(m.quantity, Decimal) or not m.quantity.is_finite() or m.quantity <= 0:
                raise ValueError(f"lot {m.lot_id}: a movement quantity must be a positive Decimal")
            quantity, unit = totals.get(m.lot_id, (Decimal(0), m.unit))
            # Units are never converted here: a mismatch means bad data, not a conversion to guess.
            if unit != m.unit:
                raise ValueError(
                    f"lot {m.lot_id}: movement in {m.unit} but the lot is counted in {unit}"
                )
            totals[m.lot_id] = (quantity + sign * m.quantity, unit)
    return totals
