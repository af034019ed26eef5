"""The dashboard: what is waiting for whom, counted, each count a link to the work itself.

Counts are capped (COUNT_CAP) so a page view never counts an unbounded number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Balance, Batch, IngredientLot, Order
from .orders import COUNT_CAP, OPEN_STATUSES


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    count: int
    endpoint: str
    args: dict
    alert: bool = False  # something is late or unsafe, not just waiting
    hint: str = ""

    @property
    def shown(self) -> str:
        return f"{COUNT_CAP:,}+" if self.count > COUNT_CAP else f"{self.count:,}"


def _capped(session: Session, stmt) -> int:
    inner = stmt.limit(COUNT_CAP + 1).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def _orders(status: str):
    return select(Order.id).where(Order.status == status)


# (key, label, who sees it, endpoint, args, alert when non-zero, hint)
_WORK = (
    (
        "to_verify",
        "Prescriptions to verify",
        {"pharmacist"},
        "orders.queue",
        {"status": "received"},
        False,
        "New orders waiting for a pharmacist.",
    ),
    (
        "to_compound",
        "Orders to compound",
        {"pharmacist", "technician"},
        "orders.queue",
        {"status": "verified"},
        False,
        "Verified, waiting for a batch.",
    ),
    (
        "in_progress",
        "Batches in progress",
        {"pharmacist", "technician"},
        "batches.index",
        {"status": "in_progress"},
        False,
        "Weights and QC to record.",
    ),
    (
        "awaiting_release",
        "Batches awaiting release",
        {"pharmacist"},
        "batches.index",
        {"status": "awaiting_check"},
        False,
        "A second pharmacist checks and releases.",
    ),
    (
        "final_check",
        "Orders for final check",
        {"pharmacist"},
        "orders.queue",
        {"status": "ready"},
        False,
        "Filled from a released batch: compare product, label and prescription.",
    ),
    (
        "ready",
        "Checked, to hand out",
        {"pharmacist", "technician", "staff"},
        "orders.queue",
        {"status": "checked"},
        False,
        "Pick-up or shipping.",
    ),
    (
        "overdue",
        "Promised date passed",
        {"pharmacist", "technician", "staff"},
        "orders.queue",
        {},
        True,
        "Open orders promised for before today.",
    ),
    (
        "recalls",
        "Orders held by a recall",
        {"pharmacist", "technician", "staff"},
        "orders.queue",
        {"status": "on_hold"},
        True,
        "Contact the patients; refill from another batch.",
    ),
    (
        "lots_expiring",
        "Lots expiring soon",
        {"pharmacist", "technician"},
        "inventory.overview",
        {},
        True,
        "Quarantined or released lots near expiry.",
    ),
    (
        "balances_due",
        "Balances due for calibration",
        {"pharmacist", "technician", "admin"},
        "equipment.balances",
        {},
        True,
        "Due within 7 days or overdue.",
    ),
)


def _count(session: Session, key: str, today: date, expiry_days: int) -> int:
    if key in ("to_verify", "to_compound", "final_check", "ready"):
        status = {
            "to_verify": "received",
            "to_compound": "verified",
            "final_check": "ready",
            "ready": "checked",
        }[key]
        return _capped(session, _orders(status))
    if key in ("in_progress", "awaiting_release"):
        status = "in_progress" if key == "in_progress" else "awaiting_check"
        return _capped(session, select(Batch.id).where(Batch.status == status))
    if key == "overdue":
        return _capped(
            session,
            select(Order.id).where(Order.status.in_(OPEN_STATUSES), Order.promised_on < today),
        )
    if key == "recalls":
        return _capped(
            session,
            select(Order.id).where(
                Order.status == "on_hold", Order.status_reason.like("recall of batch%")
            ),
        )
    if key == "lots_expiring":
        return _capped(
            session,
            select(IngredientLot.id).where(
                IngredientLot.status.in_(("quarantined", "released")),
                IngredientLot.expires_on >= today,
                IngredientLot.expires_on <= today + timedelta(days=expiry_days),
            ),
        )
    if key == "balances_due":
        return _capped(
            session,
            select(Balance.id).where(
                Balance.active.is_(True), Balance.calibration_due <= today + timedelta(days=7)
            ),
        )
    raise KeyError(key)


def tiles_for(
    session: Session, roles: frozenset[str], today: date, expiry_days: int = 60
) -> list[Tile]:
    """The tiles a user's roles care about, work first, alerts after."""
    out = []
    for key, label, who, endpoint, args, alert, hint in _WORK:
        if roles & who:
            n = _count(session, key, today, expiry_days)
            out.append(Tile(key, label, n, endpoint, args, alert and n > 0, hint))
    return out
