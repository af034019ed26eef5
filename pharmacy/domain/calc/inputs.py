"""Immutable calculation requests. Amounts are Decimal; ints and strings are converted."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from pharmacy.domain.errors import FieldError, ValidationFailed

from .arithmetic import to_decimal
from .data import (
    DEFAULT_CAPSULE_BUD_CATEGORY,
    DEFAULT_FILL_TOLERANCE_PERCENT,
    DEFAULT_MWQ_MG,
    NALTREXONE,
    ApiSubstance,
)

HCL = "hcl"
BASE = "base"
AS_IS = "as_is"
ANHYDROUS = "anhydrous"


def _coerce(obj: object, *names: str, optional: bool = False) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is None and optional:
            continue
        # Frozen dataclasses only allow this route for normalising their own fields.
        object.__setattr__(obj, name, to_decimal(value, name))


def _as_date(value: object) -> object:
    # A datetime is a date subclass; adding days to it would carry a time into the BUD.
    return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class ApiLot:
    """Certificate-of-analysis figures for the API lot (R2)."""

    assay_percent: Decimal
    assay_basis: str = AS_IS
    water_percent: Decimal | None = None

    def __post_init__(self) -> None:
        _coerce(self, "assay_percent")
        _coerce(self, "water_percent", optional=True)


@dataclass(frozen=True)
class Filler:
    """``fill_mg_per_capsule`` is the packing statistic F for this filler and capsule size."""

    name: str
    fill_mg_per_capsule: Decimal
    tapped_density_mg_per_ml: Decimal | None = None

    def __post_init__(self) -> None:
        _coerce(self, "fill_mg_per_capsule")
        _coerce(self, "tapped_density_mg_per_ml", optional=True)


@dataclass(frozen=True)
class Balance:
    mwq_mg: Decimal = DEFAULT_MWQ_MG

    def __post_init__(self) -> None:
        _coerce(self, "mwq_mg")


@dataclass(frozen=True)
class TabletSource:
    """Commercial tablets used as the API source (label claim, mg naltrexone HCl per tablet)."""

    strength_mg: Decimal = Decimal("50")

    def __post_init__(self) -> None:
        _coerce(self, "strength_mg")


_EXPIRY = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_expiry(text: str) -> tuple[date, bool]:
    """Parse "YYYY-MM" (month-only) or "YYYY-MM-DD". Returns (date, month_only)."""
    match = _EXPIRY.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"expected YYYY-MM or YYYY-MM-DD, got {text!r}")
    year, month, day = match.groups()
    try:
        if day is None:
            return date(int(year), int(month), 1), True
        return date(int(year), int(month), int(day)), False
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date") from exc


@dataclass(frozen=True)
class ComponentExpiry:
    """A component's expiry. ``month_only`` expiries run to the last day of the month."""

    name: str
    expires: date
    month_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "expires", _as_date(self.expires))

    @property
    def effective_date(self) -> date:
        if not self.month_only:
            return self.expires
        last_day = calendar.monthrange(self.expires.year, self.expires.month)[1]
        return self.expires.replace(day=last_day)

    @classmethod
    def parse(cls, name: str, text: str) -> ComponentExpiry:
        expires, month_only = parse_expiry(text)
        return cls(name=name, expires=expires, month_only=month_only)


def parse_component_expiries(
    items: Iterable[Mapping[str, str]], field_name: str = "component_expiries"
) -> tuple[ComponentExpiry, ...]:
    """Build expiries from JSON-like ``{"name", "expires"}`` items, reporting every bad item."""
    parsed: list[ComponentExpiry] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError(f"{field_name}[{i}].name", "a component name is required"))
        try:
            expires, month_only = parse_expiry(item.get("expires"))  # type: ignore[arg-type]
        except ValueError as exc:
            errors.append(FieldError(f"{field_name}[{i}].expires", str(exc)))
            continue
        parsed.append(ComponentExpiry(str(name or ""), expires, month_only))
    if errors:
        raise ValidationFailed(errors)
    return tuple(parsed)


@dataclass(frozen=True)
class CapsuleRequest:
    strength_mg: Decimal
    quantity: int | Decimal
    capsule_size: str
    filler: Filler
    api_lot: ApiLot
    compounded_on: date
    strength_basis: str = HCL
    overage_percent: Decimal = Decimal("0")
    balance: Balance = field(default_factory=Balance)
    component_expiries: tuple[ComponentExpiry, ...] = ()
    bud_category: str = DEFAULT_CAPSULE_BUD_CATEGORY
    fill_tolerance_percent: Decimal = DEFAULT_FILL_TOLERANCE_PERCENT
    # A formula BUD (days) replaces the table's; longer than the table needs a stability reference.
    bud_days: int | None = None
    bud_stability_reference: str | None = None
    substance: ApiSubstance = NALTREXONE

    def __post_init__(self) -> None:
        _coerce(self, "strength_mg", "overage_percent", "fill_tolerance_percent")
        if isinstance(self.quantity, str | float):
            object.__setattr__(self, "quantity", to_decimal(self.quantity, "quantity"))
        object.__setattr__(self, "capsule_size", str(self.capsule_size))
        object.__setattr__(self, "component_expiries", tuple(self.component_expiries))
        object.__setattr__(self, "compounded_on", _as_date(self.compounded_on))


@dataclass(frozen=True)
class LiquidRequest:
    """Exactly one of ``api_lot`` (bulk powder) or ``tablets`` is the API source."""

    concentration_mg_per_ml: Decimal
    volume_ml: Decimal
    bud_category: str
    compounded_on: date
    api_lot: ApiLot | None = None
    tablets: TabletSource | None = None
    concentration_basis: str = HCL
    balance: Balance = field(default_factory=Balance)
    component_expiries: tuple[ComponentExpiry, ...] = ()
    bud_days: int | None = None
    bud_stability_reference: str | None = None
    substance: ApiSubstance = NALTREXONE

    def __post_init__(self) -> None:
        _coerce(self, "concentration_mg_per_ml", "volume_ml")
        object.__setattr__(self, "component_expiries", tuple(self.component_expiries))
        object.__setattr__(self, "compounded_on", _as_date(self.compounded_on))


@dataclass(frozen=True)
class WeightCheckRequest:
    fill_target_mg: Decimal
    shell_mg: Decimal
    gross_weights_mg: tuple[Decimal, ...]
    tolerance_percent: Decimal = DEFAULT_FILL_TOLERANCE_PERCENT

    def __post_init__(self) -> None:
        _coerce(self, "fill_target_mg", "shell_mg", "tolerance_percent")
        weights = tuple(
            to_decimal(w, f"gross_weights_mg[{i}]") for i, w in enumerate(self.gross_weights_mg)
        )
        object.__setattr__(self, "gross_weights_mg", weights)
