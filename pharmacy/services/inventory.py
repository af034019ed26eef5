"""Ingredients, lot receipt and release, stock adjustments, stock on hand and FEFO lot choice.

Services take a session and the acting user, validate (ValidationFailed naming each bad
field), change rows, write the audit trail and flush. They never commit: the caller's unit
of work does.

Stock on hand is derived, never stored or typed over:

    on hand = quantity received + adjustments (signed) - batch usage (actual, else planned)

Every movement of a lot is counted in the lot's unit, which is its ingredient's unit: a
receipt entered in g for an ingredient counted in mg is converted on receipt. Batch code
records BatchLotUsage in `lot.unit` (see `to_lot_unit`); a model guard refuses any other.

For batch work (later):
- `usable_lots(session, ingredient_id, on, needed=None)` - the FEFO candidates.
- `require_usable_lot(session, lot_id, on, needed=None, field=...)` - one chosen lot, or a
  ValidationFailed saying why not (quarantined, rejected, recalled, expired, short).
- `lock_lots(session, lot_ids)` - take the row locks (ascending id) before reading stock
  and writing usage, so two batches cannot both take the last milligram.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, func, or_, select, type_coerce, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..database import ExactDecimal, minimal, utcnow
from ..domain import gs1, lifecycle
from ..domain import lots as lot_rules
from ..domain.calc.data import CAPSULE_VOLUMES_ML
from ..domain.errors import FieldError, ValidationFailed
from ..domain.weighing import NOT_FROM_STOCK_ROLES
from ..models import BatchLotUsage, Ingredient, IngredientLot, LotAdjustment, User
from ..models.inventory import ADJUSTMENT_KINDS, INGREDIENT_KINDS, LOT_STATUSES
from ..models.types import UNITS
from . import audit

SALT_FORMS = ("base", "hydrochloride")
ASSAY_BASES = ("as_is", "anhydrous")
CAPSULE_SIZES = tuple(CAPSULE_VOLUMES_ML)
SCALE = 4  # decimal places every stored quantity keeps (ExactDecimal scale)
MAX_QUANTITY = Decimal(10) ** 13
ASSAY_MAX = Decimal("110")
USABLE_LOTS_LIMIT = 100  # more in-date released lots of one ingredient than any pharmacy holds

# Exact conversions only: mass to mass, nothing else. Units not listed convert only to
# themselves.
_MASS_MG = {"mg": Decimal(1), "g": Decimal(1000)}
_UNITS_FOR_KIND = {
    "api": ("mg", "g"),
    "filler": ("mg", "g"),
    "capsule_shell": ("each", "capsule"),
    "vehicle": ("mL", "g", "mg"),
    "excipient": UNITS,
}
# Adjustments that can only take stock out.
_OUTGOING_ADJUSTMENTS = ("spillage", "damaged", "returned")

_Q = ExactDecimal(scale=SCALE)


# ---------------------------------------------------------------- parsing helpers


def _text(value: str | None) -> str:
    return (value or "").strip()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_quantity(
    value: Decimal | int | str | None,
    field_name: str,
    errors: list[FieldError],
    *,
    required: bool = True,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> Decimal | None:
    """An exact Decimal with at most 4 decimal places, or None (and an error recorded)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(FieldError(field_name, "is required"))
        return None
    if isinstance(value, float):
        raise TypeError("quantities are Decimal or text, never float")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        errors.append(FieldError(field_name, f"{value!r} is not a number"))
        return None
    if not number.is_finite():
        errors.append(FieldError(field_name, f"{value!r} is not a number"))
        return None
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > SCALE:
        errors.append(FieldError(field_name, f"use at most {SCALE} decimal places"))
        return None
    if abs(number) >= MAX_QUANTITY:
        errors.append(FieldError(field_name, "is too large"))
        return None
    if not allow_negative and (number < 0 or (number == 0 and not allow_zero)):
        errors.append(
            FieldError(field_name, "must be zero or more" if allow_zero else "must be above 0")
        )
        return None
    if allow_negative and number == 0 and not allow_zero:
        errors.append(FieldError(field_name, "must not be 0"))
        return None
    return quantize(number)


def quantize(value: Decimal) -> Decimal:
    """The form the database hands back (no padding zeros), so audit old/new compare like
    for like and a value reads the same before and after a reload."""
    return minimal(value)


def convert(quantity: Decimal, from_unit: str, to_unit: str) -> Decimal | None:
    """`quantity` in `to_unit`, exactly; None when the units cannot be converted."""
    if from_unit == to_unit:
        return quantity
    if from_unit in _MASS_MG and to_unit in _MASS_MG:
        return quantity * _MASS_MG[from_unit] / _MASS_MG[to_unit]
    return None


def to_lot_unit(
    lot: IngredientLot, quantity: Decimal, unit: str, field_name: str = "unit"
) -> Decimal:
    """Express a movement in the lot's own unit, or refuse (ValidationFailed) if it cannot be."""
    converted = convert(quantity, unit, lot.unit)
    if converted is None:
        raise ValidationFailed.single(
            field_name,
            f"{unit} cannot be converted to {lot.unit}, the unit lot {lot.lot_number} is counted in",
        )
    return converted


def _fits_scale(value: Decimal) -> bool:
    exponent = value.normalize().as_tuple().exponent
    return not (isinstance(exponent, int) and -exponent > SCALE) and abs(value) < MAX_QUANTITY


def _fmt(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


# ---------------------------------------------------------------- ingredients


@dataclass(frozen=True)
class IngredientData:
    name: str
    kind: str
    unit: str
    salt_form: str | None = None
    molecular_weight: Decimal | str | None = None
    base_molecular_weight: Decimal | str | None = None
    tapped_density_mg_per_ml: Decimal | str | None = None
    capsule_size: str | None = None
    capsule_colour: str | None = None
    reorder_point: Decimal | str | None = None
    active: bool = True
    gtin: str | None = None


def _validate_gtin(session: Session, value: str | None, existing: Ingredient | None, errors):
    try:
        gtin = gs1.normalize_gtin(value)
    except ValidationFailed as exc:
        errors += exc.errors
        return None
    if gtin is not None:
        clash = session.scalar(select(Ingredient).where(Ingredient.gtin == gtin).limit(1))
        if clash is not None and (existing is None or clash.id != existing.id):
            errors.append(FieldError("gtin", f"GTIN {gtin} is already on {clash.name}"))
    return gtin


def _validate_ingredient(
    session: Session, data: IngredientData, existing: Ingredient | None = None
) -> dict:
    errors: list[FieldError] = []
    name = _text(data.name)
    if not name:
        errors.append(FieldError("name", "is required"))
    elif len(name) > 120:
        errors.append(FieldError("name", "is longer than 120 characters"))
    else:
        clash = session.scalar(
            select(Ingredient.id).where(func.lower(Ingredient.name) == name.lower()).limit(1)
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors.append(FieldError("name", f"an ingredient called '{name}' already exists"))
    kind = _text(data.kind)
    if kind not in INGREDIENT_KINDS:
        errors.append(FieldError("kind", f"choose one of {', '.join(INGREDIENT_KINDS)}"))
    unit = _text(data.unit)
    if unit not in UNITS:
        errors.append(FieldError("unit", f"choose one of {', '.join(UNITS)}"))
    elif kind in _UNITS_FOR_KIND and unit not in _UNITS_FOR_KIND[kind]:
        errors.append(
            FieldError(
                "unit",
                f"{kind.replace('_', ' ')} is counted in {' or '.join(_UNITS_FOR_KIND[kind])}",
            )
        )
    elif existing is not None and unit != existing.unit:
        has_lots = session.scalar(
            select(IngredientLot.id).where(IngredientLot.ingredient_id == existing.id).limit(1)
        )
        if has_lots is not None:
            errors.append(
                FieldError(
                    "unit",
                    f"cannot change from {existing.unit}: lots of this ingredient are counted in it",
                )
            )

    salt_form = _text(data.salt_form) or None
    mw = parse_quantity(data.molecular_weight, "molecular_weight", errors, required=False)
    base_mw = parse_quantity(
        data.base_molecular_weight, "base_molecular_weight", errors, required=False
    )
    if salt_form is not None:
        if salt_form not in SALT_FORMS:
            errors.append(FieldError("salt_form", f"choose one of {', '.join(SALT_FORMS)}"))
        elif kind != "api":
            errors.append(FieldError("salt_form", "applies only to an active ingredient (API)"))
        elif salt_form != "base":
            # The calculations convert salt to base with the ratio of the two weights.
            if mw is None:
                errors.append(FieldError("molecular_weight", f"is required for a {salt_form} salt"))
            if base_mw is None:
                errors.append(
                    FieldError("base_molecular_weight", f"is required for a {salt_form} salt")
                )
            if mw is not None and base_mw is not None and base_mw >= mw:
                errors.append(
                    FieldError(
                        "base_molecular_weight",
                        "must be below the salt's molecular weight "
                        f"({_fmt(base_mw)} is not below {_fmt(mw)})",
                    )
                )
    density = parse_quantity(
        data.tapped_density_mg_per_ml, "tapped_density_mg_per_ml", errors, required=False
    )
    capsule_size = _text(data.capsule_size) or None
    capsule_colour = _text(data.capsule_colour) or None
    if kind == "capsule_shell":
        if capsule_size is None:
            errors.append(FieldError("capsule_size", "is required for capsule shells"))
        elif capsule_size not in CAPSULE_SIZES:
            errors.append(FieldError("capsule_size", f"choose one of {', '.join(CAPSULE_SIZES)}"))
        if capsule_colour is not None and len(capsule_colour) > 30:
            errors.append(FieldError("capsule_colour", "is longer than 30 characters"))
    else:
        if capsule_size is not None:
            errors.append(FieldError("capsule_size", "applies only to capsule shells"))
        if capsule_colour is not None:
            errors.append(FieldError("capsule_colour", "applies only to capsule shells"))
    reorder = parse_quantity(
        data.reorder_point, "reorder_point", errors, required=False, allow_zero=True
    )
    gtin = _validate_gtin(session, data.gtin, existing, errors)
    if errors:
        raise ValidationFailed(errors)
    return {
        "name": name,
        "kind": kind,
        "unit": unit,
        "salt_form": salt_form,
        "molecular_weight": mw,
        "base_molecular_weight": base_mw,
        "tapped_density_mg_per_ml": density,
        "capsule_size": capsule_size,
        "capsule_colour": capsule_colour,
        "reorder_point": reorder,
        "active": bool(data.active),
        "gtin": gtin,
    }


def create_ingredient(session: Session, actor: User, data: IngredientData) -> Ingredient:
    values = _validate_ingredient(session, data)
    ingredient = Ingredient(**values)
    session.add(ingredient)
    session.flush()
    audit.record(
        session,
        actor,
        "ingredient.create",
        "ingredient",
        ingredient.id,
        None,
        audit.snapshot(ingredient),
    )
    return ingredient


def update_ingredient(
    session: Session, actor: User, ingredient: Ingredient, data: IngredientData
) -> Ingredient:
    values = _validate_ingredient(session, data, existing=ingredient)
    old = audit.snapshot(ingredient)
    for key, value in values.items():
        setattr(ingredient, key, value)
    session.flush()
    before, after = audit.changed(old, audit.snapshot(ingredient))
    if after:
        audit.record(
            session, actor, "ingredient.update", "ingredient", ingredient.id, before, after
        )
    return ingredient


# ---------------------------------------------------------------- lot receipt


@dataclass(frozen=True)
class LotReceipt:
    ingredient_id: int | None
    lot_number: str
    supplier: str
    manufacturer: str
    expiry: str  # "2027-03-31", "2027-03" or "03/2027"; a month alone means its last day
    quantity: Decimal | str | None
    unit: str
    assay_percent: Decimal | str | None = None
    assay_basis: str | None = None
    water_percent: Decimal | str | None = None
    received_on: date | None = None


def parse_expiry(text: str, field_name: str = "expiry") -> tuple[date, bool]:
    """(last good day, month_only) from "2027-03-15", "2027-03" or "03/2027"."""
    value = _text(text)
    try:
        return lot_rules.in_range(date.fromisoformat(value), field_name), False
    except ValueError:
        pass
    return lot_rules.parse_expiry(value, field_name), True


def receive_lot(
    session: Session, actor: User, data: LotReceipt, today: date | None = None
) -> IngredientLot:
    """Record a delivered lot. It starts quarantined until a pharmacist releases it."""
    today = today or date.today()
    errors: list[FieldError] = []
    ingredient = session.get(Ingredient, data.ingredient_id) if data.ingredient_id else None
    if ingredient is None:
        errors.append(FieldError("ingredient_id", "choose a known ingredient"))
    elif not ingredient.active:
        errors.append(FieldError("ingredient_id", f"{ingredient.name} is inactive"))

    lot_number = _text(data.lot_number)
    if not lot_number:
        errors.append(FieldError("lot_number", "is required"))
    elif len(lot_number) > 60:
        errors.append(FieldError("lot_number", "is longer than 60 characters"))
    elif ingredient is not None:
        earlier = session.scalar(
            select(IngredientLot).where(
                IngredientLot.ingredient_id == ingredient.id,
                func.lower(IngredientLot.lot_number) == lot_number.lower(),
            )
        )
        if earlier is not None:
            errors.append(
                FieldError(
                    "lot_number",
                    f"lot {earlier.lot_number} of {ingredient.name} was already received on "
                    f"{earlier.received_on.isoformat()}",
                )
            )
    for name in ("supplier", "manufacturer"):
        value = _text(getattr(data, name))
        if not value:
            errors.append(FieldError(name, "is required"))
        elif len(value) > 120:
            errors.append(FieldError(name, "is longer than 120 characters"))

    received_on = data.received_on or today
    if received_on > today:
        errors.append(FieldError("received_on", "cannot be in the future"))

    expires_on = month_only = None
    if not _text(data.expiry):
        errors.append(FieldError("expiry", "is required (2027-03-31, 2027-03 or 03/2027)"))
    else:
        try:
            expires_on, month_only = parse_expiry(data.expiry)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        else:
            if expires_on < received_on:
                errors.append(
                    FieldError(
                        "expiry",
                        f"the lot expired on {expires_on.isoformat()}; expired stock is not received",
                    )
                )

    entered = parse_quantity(data.quantity, "quantity", errors)
    unit = _text(data.unit)
    quantity = None
    if unit not in UNITS:
        errors.append(FieldError("unit", f"choose one of {', '.join(UNITS)}"))
    elif ingredient is not None and entered is not None:
        quantity = convert(entered, unit, ingredient.unit)
        if quantity is None:
            errors.append(
                FieldError(
                    "unit",
                    f"{ingredient.name} is counted in {ingredient.unit}; {unit} cannot be converted",
                )
            )
        elif not _fits_scale(quantity):
            errors.append(
                FieldError(
                    "quantity", f"is too precise in {ingredient.unit} (at most {SCALE} places)"
                )
            )
            quantity = None
        else:
            quantity = quantize(quantity)

    assay = parse_quantity(data.assay_percent, "assay_percent", errors, required=False)
    if assay is not None and assay > ASSAY_MAX:
        errors.append(FieldError("assay_percent", f"must be above 0 and at most {ASSAY_MAX}%"))
    basis = _text(data.assay_basis) or None
    water = parse_quantity(
        data.water_percent, "water_percent", errors, required=False, allow_zero=True
    )
    if water is not None and water >= 100:
        errors.append(FieldError("water_percent", "must be at least 0 and below 100%"))
    is_api = ingredient is not None and ingredient.kind == "api"
    if is_api and _blank(data.assay_percent):
        errors.append(FieldError("assay_percent", "is required for an API (from the CoA)"))
    if basis is not None and basis not in ASSAY_BASES:
        errors.append(FieldError("assay_basis", "choose as_is or anhydrous"))
    if assay is not None and basis is None:
        errors.append(FieldError("assay_basis", "say whether the assay is as is or anhydrous"))
    if basis is not None and _blank(data.assay_percent):
        errors.append(FieldError("assay_percent", "is required when an assay basis is given"))
    if basis == "anhydrous" and _blank(data.water_percent):
        errors.append(
            FieldError("water_percent", "is required for an anhydrous assay (from the CoA)")
        )
    if errors:
        raise ValidationFailed(errors)

    lot = IngredientLot(
        ingredient_id=ingredient.id,
        lot_number=lot_number,
        supplier=_text(data.supplier),
        manufacturer=_text(data.manufacturer),
        expires_on=expires_on,
        expiry_month_only=month_only,
        quantity_received=quantity,
        unit=ingredient.unit,
        assay_percent=assay,
        assay_basis=basis,
        water_percent=water,
        status=lifecycle.LOT.initial,
        received_on=received_on,
        received_by_id=actor.id,
    )
    session.add(lot)
    session.flush()
    new = audit.snapshot(lot)
    new["entered_quantity"] = f"{_fmt(entered)} {unit}"
    new["entered_expiry"] = _text(data.expiry)
    audit.record(session, actor, "lot.receive", "ingredient_lot", lot.id, None, new)
    return lot


# ---------------------------------------------------------------- lot status


def set_lot_status(
    session: Session,
    actor: User,
    lot: IngredientLot,
    target: str,
    reason: str | None = None,
    today: date | None = None,
) -> IngredientLot:
    """Release, reject, re-quarantine or recall a lot (lifecycle.LOT; pharmacists only)."""
    today = today or date.today()
    lock_lots(session, [lot.id])
    session.refresh(lot)
    reason = _text(reason) or None
    lifecycle.check_transition("lot", lot.status, target, roles=actor.roles, reason=reason)
    if target == "released" and lot.expires_on < today:
        raise ValidationFailed.single(
            "status",
            f"lot {lot.lot_number} expired on {lot.expires_on.isoformat()}; it cannot be released",
        )
    from .facility import open_hold

    if target == "released" and open_hold(session, lot_id=lot.id) is not None:
        raise ValidationFailed.single(
            "status",
            f"lot {lot.lot_number} is on hold after a temperature excursion; decide the hold "
            "on the Facility page",
        )
    old = {"status": lot.status, "status_reason": lot.status_reason}
    lot.status = target
    lot.status_reason = reason
    lot.status_changed_at = utcnow()
    lot.status_changed_by_id = actor.id
    session.flush()
    audit.record(
        session,
        actor,
        f"lot.{target}",
        "ingredient_lot",
        lot.id,
        old,
        {"status": target, "status_reason": reason},
        reason=reason,
    )
    return lot


def release_lot(session: Session, actor: User, lot: IngredientLot, reason: str | None = None):
    return set_lot_status(session, actor, lot, "released", reason)


def reject_lot(session: Session, actor: User, lot: IngredientLot, reason: str):
    return set_lot_status(session, actor, lot, "rejected", reason)


# ---------------------------------------------------------------- stock


@dataclass(frozen=True)
class LotStock:
    lot: IngredientLot
    received: Decimal
    adjusted: Decimal  # signed sum of adjustments
    used: Decimal  # batch usage: actual where weighed, else planned
    on_hand: Decimal
    unit: str

    def usability(self, on: date, needed: Decimal | None = None) -> lot_rules.Usability:
        return lot_rules.usability(self.as_domain(), on, needed)

    def as_domain(self) -> lot_rules.Lot:
        return lot_rules.Lot(
            id=self.lot.lot_number,
            expiry=self.lot.expires_on,
            status=self.lot.status,
            on_hand=self.on_hand,
            received_on=self.lot.received_on,
        )


def _movement_totals():
    """Adjustments, usage and stock on hand of the lot in the enclosing query.

    Correlated per-lot sums, so only the lots a query selects are added up (through the
    lot_id indexes), not five years of usage for every lot."""
    adj = (
        select(func.coalesce(func.sum(LotAdjustment.quantity), 0))
        .where(LotAdjustment.lot_id == IngredientLot.id)
        .scalar_subquery()
    )
    use = (
        select(
            func.coalesce(
                func.sum(
                    func.coalesce(BatchLotUsage.actual_quantity, BatchLotUsage.planned_quantity)
                ),
                0,
            )
        )
        # An aliquot taken comes out of the stock mixture already counted, not out of the lot.
        .where(
            BatchLotUsage.lot_id == IngredientLot.id,
            BatchLotUsage.role.not_in(NOT_FROM_STOCK_ROLES),
        )
        .scalar_subquery()
    )
    # Only + and - here: on SQLite the values are scaled integers, which add exactly.
    on_hand = IngredientLot.quantity_received + adj - use
    return adj, use, on_hand


def _stock_stmt() -> Select:
    adj, use, on_hand = _movement_totals()
    return select(
        IngredientLot,
        type_coerce(adj, _Q).label("adjusted"),
        type_coerce(use, _Q).label("used"),
        type_coerce(on_hand, _Q).label("on_hand"),
    )


def _stocks(rows: Iterable) -> list[LotStock]:
    return [
        LotStock(
            lot=lot,
            received=lot.quantity_received,
            adjusted=Decimal(adjusted),
            used=Decimal(used),
            on_hand=Decimal(on_hand),
            unit=lot.unit,
        )
        for lot, adjusted, used, on_hand in rows
    ]


def lot_stock(session: Session, lot_or_id: IngredientLot | int) -> LotStock:
    lot_id = lot_or_id.id if isinstance(lot_or_id, IngredientLot) else lot_or_id
    rows = _stocks(session.execute(_stock_stmt().where(IngredientLot.id == lot_id)))
    if not rows:
        raise ValidationFailed.single("lot_id", f"lot {lot_id} does not exist")
    return rows[0]


def lot_stocks(session: Session, lot_ids: Sequence[int]) -> dict[int, LotStock]:
    if not lot_ids:
        return {}
    rows = _stocks(session.execute(_stock_stmt().where(IngredientLot.id.in_(list(lot_ids)))))
    return {s.lot.id: s for s in rows}


@dataclass(frozen=True)
class StockMismatch:
    lot_id: int
    lot_number: str
    running: Decimal
    derived: Decimal


def verify_running_stock(session: Session) -> list[StockMismatch]:
    """Lots whose running stock (IngredientLot.on_hand) differs from received + adjustments -
    usages summed from the movements: should be none."""
    _adj, _use, derived = _movement_totals()
    rows = session.execute(
        select(
            IngredientLot.id,
            IngredientLot.lot_number,
            IngredientLot.on_hand,
            type_coerce(derived, _Q),
        )
        .where(IngredientLot.on_hand != derived)
        .order_by(IngredientLot.id)
    )
    return [StockMismatch(i, n, Decimal(r), Decimal(d)) for i, n, r, d in rows]


def resum_running_stock(connection: Connection) -> None:
    """Set every lot's running stock to the sum of its movements, as verify_running_stock
    derives it: for bulk loads and undos that bypass the ORM events that keep it."""
    _adj, _use, derived = _movement_totals()
    connection.execute(update(IngredientLot).values(on_hand=derived))


def lock_lots(session: Session, lot_ids: Iterable[int]) -> list[IngredientLot]:
    """Lock lot rows for the rest of the transaction, always in ascending id order.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite: the transaction already holds the write lock
    (BEGIN IMMEDIATE), so writers are serialised and FOR UPDATE is not needed.
    """
    ids = sorted(set(lot_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(IngredientLot)
            .where(IngredientLot.id.in_(ids))
            .order_by(IngredientLot.id)
            .with_for_update()
        )
    )


def usable_lots(
    session: Session, ingredient_id: int, on: date, needed: Decimal | None = None
) -> list[LotStock]:
    """Lots of an ingredient that may be used on `on`, first expiry first out.

    Released, not expired on `on`, with stock left; when `needed` (in the ingredient's
    unit) is given, only lots holding at least that much. Ties in expiry go to the lot
    received first, then the lower id.
    """
    rows = _stocks(
        session.execute(
            _stock_stmt()
            .where(
                IngredientLot.ingredient_id == ingredient_id,
                IngredientLot.status == lot_rules.USABLE_STATUS,
                IngredientLot.expires_on >= on,
            )
            .order_by(IngredientLot.expires_on, IngredientLot.received_on, IngredientLot.id)
            .limit(USABLE_LOTS_LIMIT)
        )
    )
    return [s for s in rows if s.usability(on, needed).usable]


def usable_lots_running(
    session: Session, ingredient_id: int, on: date, needed: Decimal | None = None
) -> list[IngredientLot]:
    """As usable_lots, judged on the lots' running stock (IngredientLot.on_hand) rather than
    on their movements summed: for batch start, so that its cost does not grow with how many
    batches have used a lot."""
    return fefo_running(session.scalars(usable_lots_stmt((ingredient_id,), on)), on, needed)


def usable_lots_stmt(ingredient_ids, on: date):
    """Lots of these ingredients released and in date on `on` (any stock), in FEFO order."""
    return (
        select(IngredientLot)
        .where(
            IngredientLot.ingredient_id.in_(sorted(set(ingredient_ids))),
            IngredientLot.status == lot_rules.USABLE_STATUS,
            IngredientLot.expires_on >= on,
        )
        .order_by(IngredientLot.expires_on, IngredientLot.received_on, IngredientLot.id)
    )


def fefo_running(
    lots, on: date, needed: Decimal | None = None, ingredient_id: int | None = None
) -> list[IngredientLot]:
    """usable_lots_running over lots already loaded (of one ingredient, or of `ingredient_id`
    among them): released, in date and with stock left, first expiry first out (ties: the
    lot received first, then the lower id), the first USABLE_LOTS_LIMIT in-date lots."""
    own = sorted(
        (
            lot
            for lot in lots
            if (ingredient_id is None or lot.ingredient_id == ingredient_id)
            and lot.status == lot_rules.USABLE_STATUS
            and lot.expires_on >= on
        ),
        key=lambda lot: (lot.expires_on, lot.received_on, lot.id),
    )[:USABLE_LOTS_LIMIT]
    return [
        lot
        for lot in own
        if lot_rules.usability(
            lot_rules.Lot(lot.lot_number, lot.expires_on, lot.status, lot.on_hand, lot.received_on),
            on,
            needed,
        ).usable
    ]


def require_usable_lot(
    session: Session,
    lot_id: int,
    on: date,
    needed: Decimal | None = None,
    field_name: str = "lot_id",
    ingredient_id: int | None = None,
) -> LotStock:
    """The stock of a chosen lot, or ValidationFailed with every reason it cannot be used."""
    lot = session.get(IngredientLot, lot_id)
    if lot is None:
        raise ValidationFailed.single(field_name, f"lot {lot_id} does not exist")
    if ingredient_id is not None and lot.ingredient_id != ingredient_id:
        raise ValidationFailed.single(
            field_name, f"lot {lot.lot_number} is not a lot of the ingredient needed"
        )
    stock = lot_stock(session, lot)
    verdict = stock.usability(on, needed)
    if not verdict.usable:
        raise ValidationFailed([FieldError(field_name, r.message) for r in verdict.reasons])
    return stock


# ---------------------------------------------------------------- adjustments


def record_adjustment(
    session: Session,
    actor: User,
    lot: IngredientLot,
    kind: str,
    quantity: Decimal | str | None,
    unit: str | None,
    reason: str | None,
) -> LotAdjustment:
    """A signed stock correction with a reason. Spillage, damage and returns take stock out
    (enter the amount; it is recorded negative); a count correction may go either way."""
    errors: list[FieldError] = []
    kind = _text(kind)
    if kind not in ADJUSTMENT_KINDS:
        errors.append(FieldError("kind", f"choose one of {', '.join(ADJUSTMENT_KINDS)}"))
    amount = parse_quantity(quantity, "quantity", errors, allow_negative=True)
    if amount is not None and kind in _OUTGOING_ADJUSTMENTS:
        amount = -abs(amount)
    reason = _text(reason)
    if not reason:
        errors.append(FieldError("reason", "is required for a stock adjustment"))
    unit = _text(unit) or lot.unit
    if amount is not None:
        converted = convert(amount, unit, lot.unit)
        if converted is None:
            errors.append(
                FieldError("unit", f"the lot is counted in {lot.unit}; {unit} cannot be converted")
            )
        elif not _fits_scale(converted):
            errors.append(FieldError("quantity", f"is too precise in {lot.unit}"))
        else:
            amount = quantize(converted)
    if errors:
        raise ValidationFailed(errors)
    lock_lots(session, [lot.id])
    before = lot_stock(session, lot)
    if before.on_hand + amount < 0:
        raise ValidationFailed.single(
            "quantity",
            f"lot {lot.lot_number} holds {_fmt(before.on_hand)} {lot.unit}; "
            f"taking out {_fmt(-amount)} {lot.unit} would leave less than nothing",
        )
    row = LotAdjustment(
        lot_id=lot.id,
        kind=kind,
        quantity=amount,
        unit=lot.unit,
        reason=reason,
        recorded_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "lot.adjust",
        "ingredient_lot",
        lot.id,
        {"on_hand": before.on_hand, "unit": lot.unit},
        {
            "on_hand": before.on_hand + amount,
            "unit": lot.unit,
            "adjustment_id": row.id,
            "kind": kind,
            "quantity": amount,
        },
        reason=reason,
    )
    return row


# ---------------------------------------------------------------- pages (bounded)


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _page(stmt: Select, session: Session, page: int, per_page: int, *, stocks: bool) -> Page:
    page = max(1, page)
    rows = session.execute(stmt.limit(per_page + 1).offset((page - 1) * per_page)).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    items = _stocks(rows) if stocks else [r[0] for r in rows]
    return Page(items, page, per_page, has_next)


def list_ingredients(
    session: Session, page: int = 1, per_page: int = 50, q: str = "", kind: str = ""
) -> Page:
    stmt = select(Ingredient)
    if q.strip():
        stmt = stmt.where(Ingredient.name.ilike(f"%{q.strip()}%"))
    if kind in INGREDIENT_KINDS:
        stmt = stmt.where(Ingredient.kind == kind)
    return _page(
        stmt.order_by(Ingredient.name, Ingredient.id), session, page, per_page, stocks=False
    )


def list_lots(
    session: Session,
    page: int = 1,
    per_page: int = 50,
    *,
    statuses: Sequence[str] = ("quarantined", "released"),
    ingredient_id: int | None = None,
    q: str = "",
) -> Page:
    """Lots with their stock on hand, by ingredient then expiry."""
    stmt = _stock_stmt().join(Ingredient, Ingredient.id == IngredientLot.ingredient_id)
    statuses = [s for s in statuses if s in LOT_STATUSES]
    if statuses:
        stmt = stmt.where(IngredientLot.status.in_(statuses))
    if ingredient_id is not None:
        stmt = stmt.where(IngredientLot.ingredient_id == ingredient_id)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                IngredientLot.lot_number.ilike(like),
                IngredientLot.supplier.ilike(like),
                Ingredient.name.ilike(like),
            )
        )
    stmt = stmt.order_by(Ingredient.name, IngredientLot.expires_on, IngredientLot.id)
    return _page(stmt, session, page, per_page, stocks=True)


def expiring_lots(
    session: Session, on: date, days: int = lot_rules.DEFAULT_EXPIRY_WARNING_DAYS, limit: int = 50
) -> tuple[list[LotStock], bool]:
    """Quarantined or released lots expiring within `days` of `on` (soonest first), and
    whether there are more than `limit`."""
    horizon = on + timedelta(days=days)
    rows = _stocks(
        session.execute(
            _stock_stmt()
            .where(
                IngredientLot.status.in_(("quarantined", "released")),
                IngredientLot.expires_on >= on,
                IngredientLot.expires_on <= horizon,
            )
            .order_by(IngredientLot.expires_on, IngredientLot.id)
            .limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True)
class IngredientStock:
    ingredient: Ingredient
    usable: Decimal  # released, in-date lots
    reorder_point: Decimal
    unit: str = field(default="")


def below_reorder_point(
    session: Session, on: date, limit: int = 50
) -> tuple[list[IngredientStock], bool]:
    """Active ingredients whose usable stock (released, in-date lots) is below their
    reorder point; quarantined stock does not count until it is released."""
    _adj, _use, on_hand = _movement_totals()
    per_lot = (
        select(IngredientLot.ingredient_id.label("ingredient_id"), on_hand.label("on_hand"))
        .where(IngredientLot.status == lot_rules.USABLE_STATUS, IngredientLot.expires_on >= on)
        .subquery("per_lot")
    )
    total = func.coalesce(func.sum(per_lot.c.on_hand), 0)
    stmt = (
        select(Ingredient, type_coerce(total, _Q))
        .outerjoin(per_lot, per_lot.c.ingredient_id == Ingredient.id)
        .where(Ingredient.active.is_(True), Ingredient.reorder_point.is_not(None))
        .group_by(Ingredient.id)
        .having(total < Ingredient.reorder_point)
        .order_by(Ingredient.name)
        .limit(limit + 1)
    )
    rows = [
        IngredientStock(ing, Decimal(usable), ing.reorder_point, ing.unit)
        for ing, usable in session.execute(stmt)
    ]
    return rows[:limit], len(rows) > limit


def lot_movements(session: Session, lot: IngredientLot, limit: int = 100) -> list[dict]:
    """The latest adjustments and batch usages of a lot, newest first (bounded)."""
    from ..models import Batch

    adjustments = session.scalars(
        select(LotAdjustment)
        .where(LotAdjustment.lot_id == lot.id)
        .order_by(LotAdjustment.id.desc())
        .limit(limit)
    ).all()
    usages = session.execute(
        select(BatchLotUsage, Batch.batch_number)
        .join(Batch, Batch.id == BatchLotUsage.batch_id)
        .where(BatchLotUsage.lot_id == lot.id, BatchLotUsage.role.not_in(NOT_FROM_STOCK_ROLES))
        .order_by(BatchLotUsage.id.desc())
        .limit(limit)
    ).all()
    out = [
        {
            "what": a.kind.replace("_", " "),
            "quantity": a.quantity,
            "unit": a.unit,
            "reason": a.reason,
            "at": a.recorded_at,
        }
        for a in adjustments
    ]
    out += [
        {
            "what": f"batch {number}",
            "quantity": -(
                u.actual_quantity if u.actual_quantity is not None else u.planned_quantity
            ),
            "unit": u.unit,
            "reason": "weighed" if u.actual_quantity is not None else "planned (not yet weighed)",
            "at": None,
        }
        for u, number in usages
    ]
    return out
