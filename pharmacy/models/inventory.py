"""Ingredients, their received lots, stock movements, and the equipment used to weigh them.

Stock on hand is, for a lot, its receipt, plus its adjustments (signed), minus what batches
used (BatchLotUsage: actual quantity, else planned). That sum is also kept as a running
quantity on the lot (IngredientLot.on_hand), moved by the events below in the same flush as
each movement, so that batch start reads it from the lot row it has locked instead of summing
every past use; `flask stock verify` checks it against the sum. Every movement is
counted in the lot's unit, which is always its ingredient's unit (a receipt in g for an
ingredient counted in mg is converted when it is received).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..database import Base
from ..domain.weighing import NOT_FROM_STOCK_ROLES
from .types import Quantity, Timestamp, Unit

INGREDIENT_KINDS = ("api", "filler", "capsule_shell", "vehicle", "excipient")
LOT_STATUSES = ("quarantined", "released", "rejected", "recalled")
BALANCE_PROTOCOLS = ("mt-sics", "sbi")
ADJUSTMENT_KINDS = ("spillage", "damaged", "count_correction", "returned", "other")

# CHECK constraints on ExactDecimal columns only compare with zero: on SQLite the value is a
# scaled integer, so "<= 110" would be wrong there. Upper bounds are enforced by the services.


class Ingredient(Base):
    __tablename__ = "ingredient"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('api', 'filler', 'capsule_shell', 'vehicle', 'excipient')",
            name="kind_known",
        ),
        CheckConstraint("reorder_point IS NULL OR reorder_point >= 0", name="reorder_not_negative"),
        CheckConstraint(
            "molecular_weight IS NULL OR molecular_weight > 0", name="molecular_weight_positive"
        ),
        CheckConstraint(
            "base_molecular_weight IS NULL OR base_molecular_weight > 0",
            name="base_molecular_weight_positive",
        ),
        CheckConstraint(
            "tapped_density_mg_per_ml IS NULL OR tapped_density_mg_per_ml > 0",
            name="density_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[Unit]
    salt_form: Mapped[str | None] = mapped_column(String(40))
    molecular_weight: Mapped[Quantity | None]
    base_molecular_weight: Mapped[Quantity | None]
    tapped_density_mg_per_ml: Mapped[Quantity | None]
    capsule_size: Mapped[str | None] = mapped_column(String(4))
    capsule_colour: Mapped[str | None] = mapped_column(String(30))
    reorder_point: Mapped[Quantity | None]
    # The GS1 trade item number on the supplier's container (14 digits): a scan finds it.
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Timestamp]


class IngredientLot(Base):
    __tablename__ = "ingredient_lot"
    __table_args__ = (
        UniqueConstraint("ingredient_id", "lot_number"),
        CheckConstraint(
            "status IN ('quarantined', 'released', 'rejected', 'recalled')", name="status_known"
        ),
        CheckConstraint(
            "assay_basis IS NULL OR assay_basis IN ('as_is', 'anhydrous')",
            name="assay_basis_known",
        ),
        CheckConstraint("quantity_received > 0", name="quantity_positive"),
        CheckConstraint("assay_percent IS NULL OR assay_percent > 0", name="assay_positive"),
        CheckConstraint("water_percent IS NULL OR water_percent >= 0", name="water_not_negative"),
        CheckConstraint(
            "assay_basis IS NULL OR assay_basis <> 'anhydrous' OR water_percent IS NOT NULL",
            name="anhydrous_needs_water",
        ),
        Index("ix_ingredient_lot_usable", "ingredient_id", "status", "expires_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id"))
    lot_number: Mapped[str] = mapped_column(String(60))
    supplier: Mapped[str] = mapped_column(String(120))
    manufacturer: Mapped[str] = mapped_column(String(120))
    expires_on: Mapped[date] = mapped_column(Date)
    expiry_month_only: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity_received: Mapped[Quantity]
    # Running stock on hand (see the module docstring): receipt + adjustments - usages.
    on_hand: Mapped[Quantity]
    unit: Mapped[Unit]
    assay_percent: Mapped[Quantity | None]
    assay_basis: Mapped[str | None] = mapped_column(String(10))
    water_percent: Mapped[Quantity | None]
    status: Mapped[str] = mapped_column(String(12), default="quarantined")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    received_on: Mapped[date] = mapped_column(Date)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[Timestamp]
    # A pharmacist's documented acceptance of an API potency outside 98.0-102.0 % (anhydrous).
    potency_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    potency_accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    potency_acceptance: Mapped[str | None] = mapped_column(Text)

    ingredient: Mapped[Ingredient] = relationship()


class LotAdjustment(Base):
    """A stock correction on a lot (spillage, a count that differs, ...): signed, with a reason.

    Negative takes stock out, positive puts it back. Rows are never edited; a wrong
    adjustment is corrected by another one.
    """

    __tablename__ = "lot_adjustment"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint(
            "kind IN ('spillage', 'damaged', 'count_correction', 'returned', 'other')",
            name="kind_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("ingredient_lot.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Quantity]
    unit: Mapped[Unit]
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[Timestamp]


class Balance(Base):
    __tablename__ = "balance"
    __table_args__ = (
        CheckConstraint("readability_mg > 0", name="readability_positive"),
        CheckConstraint("mwq_mg > 0", name="mwq_positive"),
        CheckConstraint(
            "protocol IS NULL OR protocol IN ('mt-sics', 'sbi')", name="protocol_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    readability_mg: Mapped[Quantity]
    mwq_mg: Mapped[Quantity]
    calibration_due: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Timestamp]
    # Where the balance is connected (a pyserial URL: /dev/ttyUSB0, socket://host:port) and
    # the language it speaks; blank: weights are typed.
    port: Mapped[str | None] = mapped_column(String(200))
    protocol: Mapped[str | None] = mapped_column(String(10))


class MovementUnitMismatch(ValueError):
    """A movement recorded in a unit other than its lot's: stock would be summed wrongly."""


def _check_movement_unit(connection, lot_id: int, unit: str, what: str, session=None) -> None:
    # A lot's unit is fixed at receipt: the session's copy of the lot, when it holds one,
    # says it without a statement.
    lot = session.identity_map.get(identity_key(IngredientLot, lot_id)) if session else None
    if lot is not None and "unit" in lot.__dict__:
        lot_unit = lot.unit
    else:
        lot_unit = connection.scalar(select(IngredientLot.unit).where(IngredientLot.id == lot_id))
    if lot_unit is not None and lot_unit != unit:
        raise MovementUnitMismatch(
            f"{what} for lot {lot_id} is in {unit}, but the lot is counted in {lot_unit}; "
            "convert it first (pharmacy.services.inventory.to_lot_unit)"
        )


def _register_unit_guards() -> None:
    from .batches import BatchLotUsage

    @event.listens_for(BatchLotUsage, "before_insert")
    @event.listens_for(BatchLotUsage, "before_update")
    def _usage_unit(_mapper, connection, target):
        _check_movement_unit(
            connection, target.lot_id, target.unit, "a batch usage", object_session(target)
        )

    @event.listens_for(LotAdjustment, "before_insert")
    def _adjustment_unit(_mapper, connection, target):
        _check_movement_unit(
            connection, target.lot_id, target.unit, "an adjustment", object_session(target)
        )


_register_unit_guards()


def effective_use(usage) -> Decimal:
    """What a usage takes out of its lot: an aliquot taken comes out of the stock mixture,
    whose API was already counted, so it takes nothing (as inventory's derived sum says)."""
    if usage.role in NOT_FROM_STOCK_ROLES:
        return Decimal(0)
    return usage.actual_quantity if usage.actual_quantity is not None else usage.planned_quantity


def move_on_hand(connection, session, lot_id: int, delta: Decimal) -> None:
    """Add `delta` to a lot's running stock in the database (an atomic UPDATE, under the row
    lock it takes) and in the session's copy of the lot, if it holds one."""
    if not delta:
        return
    table = IngredientLot.__table__
    connection.execute(
        update(table).where(table.c.id == lot_id).values(on_hand=table.c.on_hand + delta)
    )
    lot = session.identity_map.get(identity_key(IngredientLot, lot_id)) if session else None
    if lot is not None and "on_hand" in lot.__dict__:
        set_committed_value(lot, "on_hand", lot.on_hand + delta)


def _usage_before(target) -> tuple[int, Decimal]:
    before = {}
    for name in ("lot_id", "planned_quantity", "actual_quantity"):
        hist = inspect(target).attrs[name].history
        before[name] = hist.deleted[0] if hist.deleted else getattr(target, name)
    actual = before["actual_quantity"]
    return before["lot_id"], actual if actual is not None else before["planned_quantity"]


def _register_running_stock() -> None:
    from .batches import BatchLotUsage

    @event.listens_for(IngredientLot, "before_insert")
    def _received(_mapper, _connection, target):
        if target.on_hand is None:
            target.on_hand = target.quantity_received

    @event.listens_for(IngredientLot, "before_update")
    def _receipt_corrected(_mapper, _connection, target):
        hist = inspect(target).attrs.quantity_received.history
        if hist.deleted and hist.added:
            target.on_hand = target.on_hand + hist.added[0] - hist.deleted[0]

    @event.listens_for(LotAdjustment, "after_insert")
    def _adjusted(_mapper, connection, target):
        move_on_hand(connection, object_session(target), target.lot_id, target.quantity)

    @event.listens_for(LotAdjustment, "after_delete")
    def _adjustment_gone(_mapper, connection, target):
        move_on_hand(connection, object_session(target), target.lot_id, -target.quantity)

    @event.listens_for(BatchLotUsage, "after_insert")
    def _used(_mapper, connection, target):
        move_on_hand(connection, object_session(target), target.lot_id, -effective_use(target))

    @event.listens_for(BatchLotUsage, "after_delete")
    def _use_gone(_mapper, connection, target):
        move_on_hand(connection, object_session(target), target.lot_id, effective_use(target))

    @event.listens_for(BatchLotUsage, "after_update")
    def _use_changed(_mapper, connection, target):
        old_lot, old_use = _usage_before(target)
        if (old_lot, old_use) == (target.lot_id, effective_use(target)):
            return  # another column changed: the stock did not move
        session = object_session(target)
        move_on_hand(connection, session, old_lot, old_use)
        move_on_hand(connection, session, target.lot_id, -effective_use(target))


_register_running_stock()
