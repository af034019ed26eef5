"""An API lot assaying outside 98.0-102.0 % (anhydrous basis) is used only after a pharmacist
documents why it is acceptable; the acceptance is kept on the lot and in the audit trail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...database import utcnow
from ...domain import weighing
from ...domain.errors import ValidationFailed
from ...models import IngredientLot, User
from .. import audit


def lot_potency(lot: IngredientLot):
    return weighing.anhydrous_potency(lot.assay_percent, lot.assay_basis, lot.water_percent)


def needs_acceptance(lot: IngredientLot) -> bool:
    return (
        lot.ingredient.kind == "api"
        and weighing.potency_out_of_range(lot_potency(lot))
        and lot.potency_accepted_at is None
    )


def accept_potency(session: Session, actor: User, lot: IngredientLot, reason: str) -> None:
    reason = (reason or "").strip()
    if not actor.has_role("pharmacist"):
        raise ValidationFailed.single(
            "potency_acceptance", "only a pharmacist can accept a lot outside 98.0–102.0 %"
        )
    if not reason:
        raise ValidationFailed.single(
            "potency_acceptance", "document why the lot's potency is acceptable"
        )
    old = {"potency_accepted_by_id": lot.potency_accepted_by_id, "potency_acceptance": None}
    lot.potency_accepted_by_id = actor.id
    lot.potency_accepted_at = utcnow()
    lot.potency_acceptance = reason
    session.flush()
    audit.record(
        session,
        actor,
        "lot.potency_accept",
        "ingredient_lot",
        lot.id,
        old,
        {"potency_accepted_by_id": actor.id, "potency_percent": lot_potency(lot)},
        reason=reason,
    )


def accept_potency_if_needed(
    session: Session, actor: User, lot: IngredientLot, reason: str
) -> None:
    """Refuse the lot unless its potency is in range, already accepted, or accepted now."""
    if not needs_acceptance(lot):
        return
    if not (reason or "").strip():
        raise ValidationFailed.single(
            "potency_acceptance",
            f"lot {lot.lot_number} assays {lot_potency(lot)} % (anhydrous basis), outside "
            f"{weighing.POTENCY_MIN}–{weighing.POTENCY_MAX} %: a pharmacist must document "
            "why it is acceptable before it is used",
        )
    accept_potency(session, actor, lot, reason)
