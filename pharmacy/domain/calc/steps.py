"""Worksheet steps: each calculation records its working in the order a pharmacist checks it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .serialize import jsonable

DISPLAY_PLACES = 6


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    formula: str
    value: Decimal | str
    unit: str

    def to_dict(self) -> dict[str, str]:
        return jsonable(self)


def num(value: Decimal | int) -> str:
    """Exact when short; otherwise '≈' with 6 decimals so a worksheet line stays readable."""
    if isinstance(value, int):
        return str(value)
    rounded = value.quantize(Decimal(1).scaleb(-DISPLAY_PLACES))
    if rounded == value:
        # Keep the value's own places so data such as "341.40" prints as it was entered.
        return format(value, "f")
    return "≈" + format(rounded.normalize(), "f")


def mg(value: Decimal) -> str:
    """A weighed amount, always printed to 0.01 mg as the balance shows it."""
    return f"{value:.2f} mg"


def pct(value: Decimal) -> str:
    return f"{num(value)}%"
