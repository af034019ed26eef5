"""The pharmacist's final check: the product (batches filled), the label and the prescription
compared side by side. Pure: facts in, discrepancies out. A discrepancy is never overridden
(a wrong product or label is fixed, not signed off)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pharmacy.domain.errors import FieldError


@dataclass(frozen=True)
class RxFacts:
    rx_number: str
    strength_mg: Decimal  # product strength: mg per capsule, or mg per mL
    strength_basis: str
    quantity: Decimal  # the order's quantity
    quantity_unit: str
    # Strengths a titration order may also be filled with (one batch per step strength).
    step_strengths_mg: Collection[Decimal] = ()


@dataclass(frozen=True)
class BatchFacts:
    batch_number: str
    status: str
    strength_mg: Decimal
    strength_basis: str
    unit: str
    beyond_use_date: date
    quantity: Decimal  # dispensed from it to this order


@dataclass(frozen=True)
class LabelFacts:
    rx_number: str
    quantity: Decimal
    batch_numbers: tuple[str, ...]
    beyond_use_date: date
    preparation: str


def _mg(value: Decimal) -> str:
    return f"{value.normalize():f}"


def compare(
    rx: RxFacts, batches: Sequence[BatchFacts], label: LabelFacts | None, today: date
) -> list[FieldError]:
    """Every mismatch between prescription, product and label, each naming what to compare."""
    found: list[FieldError] = []
    if not batches:
        return [FieldError("product", f"nothing has been filled for {rx.rx_number}")]
    allowed = {rx.strength_mg, *rx.step_strengths_mg}
    for b in batches:
        name = f"batch {b.batch_number}"
        if b.status != "released":
            found.append(FieldError("product", f"{name} is {b.status.replace('_', ' ')}"))
        if b.strength_mg not in allowed:
            found.append(
                FieldError(
                    "product",
                    f"{name} is {_mg(b.strength_mg)} mg per {b.unit}; the prescription is "
                    f"{_mg(rx.strength_mg)} mg",
                )
            )
        if b.strength_basis != rx.strength_basis:
            found.append(
                FieldError(
                    "product",
                    f"{name} is naltrexone {b.strength_basis}; the prescription is "
                    f"{rx.strength_basis}",
                )
            )
        if b.unit != rx.quantity_unit:
            found.append(
                FieldError("product", f"{name} is in {b.unit}; the order is in {rx.quantity_unit}")
            )
        if b.beyond_use_date < today:
            found.append(
                FieldError(
                    "product", f"{name} passed its beyond-use date {b.beyond_use_date.isoformat()}"
                )
            )
    filled = sum((b.quantity for b in batches), Decimal(0))
    if filled != rx.quantity:
        found.append(
            FieldError(
                "product",
                f"{_mg(filled)} {rx.quantity_unit} filled; the order is for "
                f"{_mg(rx.quantity)} {rx.quantity_unit}",
            )
        )
    if label is None:
        return found
    if label.rx_number != rx.rx_number:
        found.append(FieldError("label", f"the label is for {label.rx_number}"))
    if label.quantity != filled:
        found.append(
            FieldError("label", f"the label says {_mg(label.quantity)}; {_mg(filled)} filled")
        )
    numbers = {b.batch_number for b in batches}
    if set(label.batch_numbers) != numbers:
        found.append(
            FieldError(
                "label",
                f"the label names batch {', '.join(label.batch_numbers)}; filled from "
                f"{', '.join(sorted(numbers))}",
            )
        )
    earliest = min(b.beyond_use_date for b in batches)
    if label.beyond_use_date != earliest:
        found.append(
            FieldError(
                "label",
                f"the label's BUD {label.beyond_use_date.isoformat()} is not the earliest "
                f"batch BUD {earliest.isoformat()}",
            )
        )
    if f"{_mg(rx.strength_mg)} mg" not in label.preparation:
        found.append(
            FieldError(
                "label",
                f"the label's product “{label.preparation}” does not show {_mg(rx.strength_mg)} mg",
            )
        )
    return found
