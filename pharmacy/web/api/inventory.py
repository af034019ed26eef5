"""Ingredient lots over the JSON API: receive, pharmacist decision, lot with stock on hand.

Thin views: pydantic gives the shape, pharmacy.services.inventory decides (the same rules and
messages as the UI), one unit of work per request.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import abort, jsonify, url_for
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from ...database import minimal, unit_of_work
from ...extensions import db
from ...models import IngredientLot
from ...services import inventory as service
from . import bp, parse_body

MAX_ID = 2_147_483_647  # the largest integer key the database holds

# Ids are JSON integers (never true/false or "7"); out-of-range ids are refused, not looked up.
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def plain(value: Any) -> Any:
    """JSON-safe: Decimals as exact strings (never floats, never exponent notation), dates ISO."""
    if isinstance(value, Decimal):
        return format(minimal(value), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def get_or_404(model, ident: int, what: str):
    row = db.session.get(model, ident) if 1 <= ident <= MAX_ID else None
    if row is None:
        abort(404, f"{what} {ident} does not exist")
    return row


def lot_dict(lot_id: int, today: date | None = None) -> dict:
    stock = service.lot_stock(db.session, lot_id)
    lot = stock.lot
    usability = stock.usability(today or date.today())
    return plain(
        {
            "id": lot.id,
            "ingredient_id": lot.ingredient_id,
            "ingredient": lot.ingredient.name,
            "lot_number": lot.lot_number,
            "supplier": lot.supplier,
            "manufacturer": lot.manufacturer,
            "expires_on": lot.expires_on,
            "expiry_month_only": lot.expiry_month_only,
            "quantity_received": lot.quantity_received,
            "unit": lot.unit,
            "assay_percent": lot.assay_percent,
            "assay_basis": lot.assay_basis,
            "water_percent": lot.water_percent,
            "status": lot.status,
            "status_reason": lot.status_reason,
            "status_changed_at": lot.status_changed_at,
            "status_changed_by_id": lot.status_changed_by_id,
            "received_on": lot.received_on,
            "received_by_id": lot.received_by_id,
            "stock": {
                "received": stock.received,
                "adjusted": stock.adjusted,
                "used": stock.used,
                "on_hand": stock.on_hand,
                "unit": stock.unit,
            },
            "usable": usability.usable,
            "unusable_because": [r.message for r in usability.reasons],
        }
    )


def _quantity(value: Any) -> Any:
    if value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("must be a number or a string holding one")


# Quantities arrive as JSON numbers (parsed as Decimal) or strings; the service parses them
# exactly, as it does the UI's text fields, and names the field when they are wrong.
QuantityIn = Annotated[Decimal | str | int | None, PlainValidator(_quantity)]


class LotIn(In):
    ingredient_id: Id | None = None
    lot_number: str = Field(default="", max_length=60)
    supplier: str = Field(default="", max_length=120)
    manufacturer: str = Field(default="", max_length=120)
    expiry: str = Field(default="", max_length=20)
    quantity: QuantityIn = None
    unit: str = Field(default="", max_length=20)
    assay_percent: QuantityIn = None
    assay_basis: str | None = Field(default=None, max_length=20)
    water_percent: QuantityIn = None


class DecisionIn(In):
    status: Literal["released", "rejected", "quarantined"]
    reason: str = Field(default="", max_length=1000)


@bp.post("/lots")
def receive_lot():
    body = parse_body(LotIn)
    data = service.LotReceipt(
        ingredient_id=body.ingredient_id,
        lot_number=body.lot_number,
        supplier=body.supplier,
        manufacturer=body.manufacturer,
        expiry=body.expiry,
        quantity=body.quantity,
        unit=body.unit,
        assay_percent=body.assay_percent,
        assay_basis=body.assay_basis,
        water_percent=body.water_percent,
    )
    with unit_of_work() as s:
        lot = service.receive_lot(s, current_user, data)
    resp = jsonify(lot_dict(lot.id))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.lot", lot_id=lot.id)
    return resp


@bp.get("/lots/<int:lot_id>")
def lot(lot_id: int):
    row = get_or_404(IngredientLot, lot_id, "lot")
    return jsonify(lot_dict(row.id))


@bp.post("/lots/<int:lot_id>/decision")
def lot_decision(lot_id: int):
    row = get_or_404(IngredientLot, lot_id, "lot")
    body = parse_body(DecisionIn)
    with unit_of_work() as s:
        service.set_lot_status(s, current_user, row, body.status, body.reason)
    return jsonify(lot_dict(lot_id))
