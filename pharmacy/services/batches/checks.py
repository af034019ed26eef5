"""Checks at batch start against the patients the batch is for: a formula chosen only now
(not at intake) is screened against each patient's recorded allergies to its excipients."""

from __future__ import annotations

from collections.abc import Sequence

from ...domain import screening
from ...domain.errors import ValidationFailed
from ...models import Formula, Order, User
from ..prescriptions import formula_excipients


def excipient_findings(formula: Formula, orders: Sequence[Order]) -> list[dict]:
    excipients = formula_excipients(formula)
    out = []
    for o in orders:
        rx = o.prescription
        if rx.formula_id is not None:
            continue  # screened with its formula at intake and verification
        for f in screening.excipient_allergies(rx.patient.allergy_list, excipients):
            out.append({"order": o.number, "patient_id": rx.patient_id, "message": f.message})
    return out


def check_excipient_allergies(
    actor: User, formula: Formula, orders: Sequence[Order], override: str
) -> tuple[list[dict], str | None]:
    """The findings, and the pharmacist's override reason when there are any; refused without."""
    findings = excipient_findings(formula, orders)
    if not findings:
        return [], None
    reason = (override or "").strip()
    detail = "; ".join(f"order {f['order']}: {f['message']}" for f in findings)
    if not reason:
        raise ValidationFailed.single(
            "allergy_override", f"{detail} A pharmacist may go ahead with a written reason."
        )
    if not actor.has_role("pharmacist"):
        raise ValidationFailed.single(
            "allergy_override", f"{detail} Only a pharmacist can override an allergy finding."
        )
    return findings, reason
