"""Container scans at the bench: what a scan at lot receipt fills in, and whether the container
scanned at weighing is the ingredient and lot the batch line calls for.

The barcode itself is read by pharmacy.domain.gs1 (pure); this module looks the product up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from labels.lot import LotLabelData

from ..domain import gs1
from ..domain.errors import ValidationFailed
from ..models import BatchLotUsage, Ingredient, IngredientLot


@dataclass(frozen=True)
class ReceiptScan:
    scan: gs1.ContainerScan
    ingredient: Ingredient


def ingredient_for(session: Session, scan: gs1.ContainerScan, field: str = "scan") -> Ingredient:
    if scan.ingredient_id is not None:
        row = session.get(Ingredient, scan.ingredient_id)
        if row is None:
            raise ValidationFailed.single(
                field, f"the pharmacy label names ingredient {scan.ingredient_id}, which is unknown"
            )
        return row
    row = session.scalar(select(Ingredient).where(Ingredient.gtin == scan.gtin).limit(1))
    if row is None:
        raise ValidationFailed.single(
            field,
            f"no ingredient has GTIN {scan.gtin}: add it to the ingredient's record "
            "(Ingredients → edit → GTIN), then scan again",
        )
    return row


def scan_for_receipt(session: Session, text: str, field: str = "scan") -> ReceiptScan:
    """The ingredient, lot and expiry a scan gives the lot receipt form."""
    scan = gs1.parse_container_scan(text, field)
    ingredient = ingredient_for(session, scan, field)
    if not ingredient.active:
        raise ValidationFailed.single(field, f"{ingredient.name} is no longer in use")
    return ReceiptScan(scan, ingredient)


def lot_for_scan(session: Session, text: str, field: str = "scan") -> IngredientLot | None:
    scan = gs1.parse_container_scan(text, field)
    ingredient = ingredient_for(session, scan, field)
    return session.scalar(
        select(IngredientLot).where(
            IngredientLot.ingredient_id == ingredient.id,
            IngredientLot.lot_number == (scan.lot_number or ""),
        )
    )


def expected_container(usage: BatchLotUsage) -> gs1.ExpectedContainer:
    lot = usage.lot
    return gs1.ExpectedContainer(
        lot.ingredient_id, lot.ingredient.name, lot.ingredient.gtin, lot.lot_number
    )


def check_container(usage: BatchLotUsage, text: str, field: str | None = None) -> str:
    """The scan, stripped, when it is this line's container; else ValidationFailed saying why."""
    field = field or f"scan_{usage.id}"
    scan = gs1.parse_container_scan(text, field)
    why = gs1.container_mismatch(scan, expected_container(usage))
    if why:
        raise ValidationFailed.single(field, f"{why} — do not use this container")
    return text.strip()


def lot_label_data(lot: IngredientLot) -> LotLabelData:
    """The pharmacy's own GS1-style label for a container of this lot."""
    month_only = bool(lot.expiry_month_only)
    payload = gs1.lot_label_payload(
        lot.ingredient.gtin, lot.ingredient_id, lot.lot_number, lot.expires_on, month_only
    )
    expiry = (
        lot.expires_on.strftime("%b %Y") if month_only else lot.expires_on.strftime("%b %d, %Y")
    )
    return LotLabelData(
        ingredient=lot.ingredient.name,
        lot_number=lot.lot_number,
        expiry=expiry,
        received_on=lot.received_on,
        barcode=payload,
        gtin=lot.ingredient.gtin or "",
    )
