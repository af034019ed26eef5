"""Facility rules: storage temperatures and the balance's daily check. Pure, Decimal only.

Temperatures (USP <659>): a refrigerator keeps 2-8 °C, and any reading outside that range is an
excursion. Controlled room temperature is 20-25 °C; USP allows brief excursions between 15 and
30 °C, which are recorded but hold nothing; outside 15-30 °C is an excursion. An excursion puts
what is stored in the unit on hold until a pharmacist decides.
"""

from __future__ import annotations

from decimal import Decimal

STORAGE_KINDS = ("refrigerator", "room")
RANGES = {
    # kind: (low, high, allowed excursion low, allowed excursion high)
    "refrigerator": (Decimal("2"), Decimal("8"), Decimal("2"), Decimal("8")),
    "room": (Decimal("20"), Decimal("25"), Decimal("15"), Decimal("30")),
}
READING_STATUSES = ("in_range", "allowed_excursion", "excursion")


def classify(kind: str, celsius: Decimal) -> str:
    low, high, allowed_low, allowed_high = RANGES[kind]
    if low <= celsius <= high:
        return "in_range"
    if allowed_low <= celsius <= allowed_high:
        return "allowed_excursion"
    return "excursion"


def range_text(kind: str) -> str:
    low, high, allowed_low, allowed_high = RANGES[kind]
    text = f"{low}–{high} °C"
    if (allowed_low, allowed_high) != (low, high):
        text += f" (brief excursions {allowed_low}–{allowed_high} °C allowed)"
    return text


def check_weight_passes(nominal_mg: Decimal, reading_mg: Decimal, tolerance_mg: Decimal) -> bool:
    """A daily check passes when the balance reads the check weight within the tolerance."""
    return abs(reading_mg - nominal_mg) <= tolerance_mg
