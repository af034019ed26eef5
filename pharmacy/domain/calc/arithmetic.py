"""Exact Decimal arithmetic and the single rounding rule (R5)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

# 50 significant digits keeps unrounded intermediates (e.g. 377.86/341.40) exact enough that
# only the deliberate R5 rounding ever changes a weighed amount. Traps turn silent NaN/Inf into
# errors so a bug can never print a number on a worksheet.
CALC_CONTEXT = Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

WEIGHING_QUANTUM = Decimal("0.01")
VOLUME_QUANTUM = Decimal("0.01")
HUNDRED = Decimal(100)

P = ParamSpec("P")
R = TypeVar("R")


def exact(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` in the calculation context without touching the caller's global context."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(CALC_CONTEXT):
            return func(*args, **kwargs)

    return wrapper


def round_weighing(value: Decimal) -> Decimal:
    """R5: what a person weighs is rounded to 0.01 mg, half up."""
    return value.quantize(WEIGHING_QUANTUM, rounding=ROUND_HALF_UP)


def round_volume(value: Decimal) -> Decimal:
    return value.quantize(VOLUME_QUANTUM, rounding=ROUND_HALF_UP)


def ceil_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def is_whole(value: Decimal | int) -> bool:
    if isinstance(value, int):
        return True
    return value.is_finite() and value == value.to_integral_value()


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def to_decimal(value: object, name: str) -> Decimal:
    """Coerce request inputs. Floats are refused: a binary float is never an exact amount."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected a decimal amount, got a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{name}: {value!r} is not a decimal number") from exc
    if isinstance(value, float):
        raise TypeError(f"{name}: pass a Decimal or a string, not a float ({value!r})")
    raise TypeError(f"{name}: expected a decimal amount, got {type(value).__name__}")
