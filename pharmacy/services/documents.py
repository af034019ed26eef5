"""The one bridge from the database to the `labels` package: ORM rows in, frozen label data out.

Nothing here renders or writes; `printing` renders and logs. Refusals that depend on the state
of a record (an order not yet filled, a batch not released) raise DocumentRefused, which the
app answers with 409; data that cannot be labelled raises labels' own LabelError (422).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

import labels
from labels import (
    BatchLabelData,
    CalculationStep,
    DispensingLabelData,
    EquipmentUse,
    LeafletData,
    LotUsage,
    QcCheck,
    QcSummary,
    QcWeight,
    Signature,
    TitrationKitData,
    WorksheetData,
)

from ..database import minimal
from ..domain.errors import TransitionNotAllowed
from ..models import Batch, Dispense, Order, PharmacyProfile, Prescription, User
from . import orders as order_service

# Orders whose fill is complete: the label goes on the vial at this point or later.
LABELLABLE_ORDER_STATUSES = ("ready", "dispensed")
FORM_NAMES = {
    "capsule": ("capsule", "capsules"),
    "oral_solution": ("oral solution", "oral solution"),
    "oral_suspension": ("oral suspension", "oral suspension"),
}


class DocumentRefused(TransitionNotAllowed):
    """The record is not in a state that can be printed (answered with 409, nothing logged)."""


# --- small formatting helpers -----------------------------------------------------------------


def _num(value: Decimal | int) -> str:
    return format(minimal(Decimal(value)), "f")


def _number(value: Decimal | int) -> Decimal | int:
    value = minimal(Decimal(value))
    return int(value) if value == value.to_integral_value() else value


def substance(basis: str) -> str:
    return "Naltrexone HCl" if basis == "hcl" else "Naltrexone (base)"


def preparation(strength_mg: Decimal, basis: str, dosage_form: str) -> str:
    """'Naltrexone HCl 4.5 mg capsules', 'Naltrexone (base) 1 mg/mL oral solution'."""
    form = FORM_NAMES.get(dosage_form, (dosage_form.replace("_", " "),) * 2)[1]
    if dosage_form == "capsule":
        return f"{substance(basis)} {_num(strength_mg)} mg {form}"
    return f"{substance(basis)} {_num(strength_mg)} mg/mL {form}"


def unit_word(unit: str, quantity: Decimal | int) -> str:
    if unit == "capsule":
        return "capsule" if quantity == 1 else "capsules"
    return unit


def pharmacy(session: Session) -> labels.Pharmacy:
    row = session.scalar(select(PharmacyProfile).limit(1))
    if row is None:
        raise DocumentRefused("The pharmacy's details are not set up yet: nothing can be printed.")
    return labels.Pharmacy(name=row.name, address=row.address, phone=row.phone)


def _storage(batch: Batch) -> str:
    calc = batch.calculation or {}
    return (calc.get("formula") or {}).get("storage") or (calc.get("result") or {}).get(
        "storage", ""
    )


def _initials(user: User | None) -> str:
    return user.initials if user is not None else ""


# --- dispensing labels ------------------------------------------------------------------------


def order_dispenses(session: Session, order: Order) -> list[Dispense]:
    return list(
        session.scalars(select(Dispense).where(Dispense.order_id == order.id).order_by(Dispense.id))
    )


def _filled(session: Session, order: Order) -> list[Dispense]:
    """The dispenses of a complete fill, all from released batches, or a clear refusal."""
    rows = order_dispenses(session, order)
    status = order.status.replace("_", " ")
    if not rows:
        raise DocumentRefused(
            f"Order {order.number} has nothing dispensed yet: fill it from a released batch "
            "before printing its label."
        )
    bad = [d.batch for d in rows if d.batch.status != "released"]
    if bad:
        raise DocumentRefused(
            f"Order {order.number} was filled from batch "
            + ", ".join(f"{b.batch_number} ({b.status.replace('_', ' ')})" for b in bad)
            + ": a label is printed only for units from a released batch."
        )
    if order.status not in LABELLABLE_ORDER_STATUSES:
        raise DocumentRefused(
            f"Order {order.number} is {status}: its label is printed once the fill is complete "
            "(ready)."
        )
    return rows


def _pharmacist_initials(rows: Sequence[Dispense], rx: Prescription) -> str:
    """The dispensing pharmacist if a pharmacist filled it, else the verifying pharmacist."""
    for d in reversed(rows):
        if d.dispensed_by.has_role("pharmacist"):
            return d.dispensed_by.initials
    return _initials(rx.verified_by)


def _batches(rows: Sequence[Dispense]) -> list[Batch]:
    return list({d.batch_id: d.batch for d in rows}.values())


def dispensing_label(session: Session, order: Order) -> DispensingLabelData:
    rows = _filled(session, order)
    rx = order.prescription
    batches = _batches(rows)
    quantity = sum((d.quantity for d in rows), Decimal(0))
    return DispensingLabelData(
        pharmacy=pharmacy(session),
        rx_number=rx.rx_number,
        fill_number=order.fill_number,
        patient_name=rx.patient.full_name,
        preparation=preparation(rx.strength_mg, rx.strength_basis, rx.dosage_form),
        quantity=_number(quantity),
        quantity_unit=unit_word(order.quantity_unit, quantity),
        directions=rx.directions,
        prescriber=rx.prescriber.display_name,
        date_filled=max(d.dispensed_at for d in rows).date(),
        refills_remaining=order_service.terms(rx).refills_remaining,
        batch_number=", ".join(b.batch_number for b in batches),
        beyond_use_date=min(b.beyond_use_date for b in batches),
        storage=_storage(batches[0]),
        pharmacist_initials=_pharmacist_initials(rows, rx),
    )


# --- titration kits ---------------------------------------------------------------------------


def _frequency(doses_per_day: int) -> str:
    return {1: "once daily", 2: "twice daily"}.get(doses_per_day, f"{doses_per_day} times daily")


def titration_kit(session: Session, order: Order, start: date | None = None) -> TitrationKitData:
    """One step label per titration step, all from the units dispensed to this order.

    A step must be given with the dispensed preparation (whole capsules, or mL of a solution);
    after the plan the patient follows the prescription's own directions (its own label)."""
    rx = order.prescription
    if not rx.titration_steps:
        raise DocumentRefused(f"Prescription {rx.rx_number} has no titration plan.")
    rows = _filled(session, order)
    batches = _batches(rows)
    filled_on = max(d.dispensed_at for d in rows).date()
    start = start or filled_on
    strength = rx.strength_mg  # mg per capsule, or mg per mL
    unit = order.quantity_unit
    dpd = rx.doses_per_day
    bedtime = " at bedtime" if "bedtime" in rx.directions.lower() else ""
    batch_number = ", ".join(b.batch_number for b in batches)
    bud = min(b.beyond_use_date for b in batches)
    prep = preparation(strength, rx.strength_basis, rx.dosage_form)
    total = sum((d.quantity for d in rows), Decimal(0))

    plan: list[tuple[Decimal, Decimal, int | None]] = []  # (mg per dose, units per dose, days)
    for n, s in enumerate(rx.titration_steps, start=1):
        if s.units_per_dose is not None:
            units = Decimal(s.units_per_dose)
            mg = units * strength
        else:
            mg = s.strength_mg
            units = mg / strength
        if unit == "capsule" and units != units.to_integral_value():
            raise DocumentRefused(
                f"Titration step {n} ({_num(mg)} mg a dose) cannot be given with "
                f"{_num(strength)} mg capsules: enter the plan in whole capsules, or make the "
                "step's strength as its own prescription."
            )
        plan.append((mg, units.quantize(Decimal("0.01")) if unit != "capsule" else units, s.days))
    used = sum((u * dpd * (d or 0) for _mg, u, d in plan), Decimal(0))
    if used > total:
        raise DocumentRefused(
            f"The titration plan needs {_num(used)} {unit}; order {order.number} holds "
            f"{_num(total)} {unit}."
        )
    plan = [(mg, u, d) for mg, u, d in plan if d]

    steps = []
    day = start
    last = len(plan)
    for n, (mg, units, days) in enumerate(plan, start=1):
        assert days is not None
        quantity = units * dpd * days
        word = unit_word(unit, units)
        then = "; then go on to step " + str(n + 1) if n < last else ""
        steps.append(
            labels.TitrationStep(
                start_date=day,
                days=days,
                dose=f"{_num(mg * dpd)} mg",
                preparation=prep,
                quantity=_number(quantity),
                quantity_unit=unit_word(unit, quantity),
                directions=(
                    f"Take {_num(units)} {word} ({_num(mg)} mg) by mouth {_frequency(dpd)}"
                    f"{bedtime} for {days} days{then}."
                ),
                batch_number=batch_number,
                beyond_use_date=bud,
            )
        )
        day += timedelta(days=days)
    return TitrationKitData(
        pharmacy=pharmacy(session),
        rx_number=rx.rx_number,
        fill_number=order.fill_number,
        patient_name=rx.patient.full_name,
        prescriber=rx.prescriber.display_name,
        date_filled=filled_on,
        refills_remaining=order_service.terms(rx).refills_remaining,
        storage=_storage(batches[0]),
        pharmacist_initials=_pharmacist_initials(rows, rx),
        steps=tuple(steps),
    )


# --- batch documents --------------------------------------------------------------------------


def _who(user: User | None) -> str:
    return f"{user.full_name} ({user.initials})" if user is not None else ""


def _strength_text(batch: Batch) -> str:
    per = "per capsule" if batch.unit == "capsule" else "per mL"
    return f"{_num(batch.strength_mg)} mg {substance(batch.strength_basis)} {per}"


def _dosage_form(batch: Batch) -> str:
    return (batch.calculation or {}).get("formula", {}).get("dosage_form") or (
        "capsule" if batch.unit == "capsule" else "oral_solution"
    )


def batch_label(session: Session, batch: Batch) -> BatchLabelData:
    if batch.status != "released":
        raise DocumentRefused(
            f"Batch {batch.batch_number} is {batch.status.replace('_', ' ')}: its container "
            "label is printed once a pharmacist has checked and released it."
        )
    made = batch.units_made or 0
    return BatchLabelData(
        batch_number=batch.batch_number,
        preparation=preparation(batch.strength_mg, batch.strength_basis, _dosage_form(batch)),
        strength=_strength_text(batch),
        quantity_made=made,
        quantity_unit=unit_word(batch.unit, made),
        date_compounded=batch.compounded_on,
        beyond_use_date=batch.beyond_use_date,
        storage=_storage(batch),
        compounded_by=_who(batch.compounded_by),
        checked_by=_who(batch.checked_by),
        pharmacy_name=pharmacy(session).name,
    )


def _step_value(value: object) -> Decimal | int | str:
    if isinstance(value, int | Decimal):
        return value
    return "" if value is None else str(value)


def _dec(value: object) -> Decimal:
    return Decimal(str(value))


def _qc(batch: Batch) -> tuple[tuple[QcWeight, ...], QcSummary | None, list[str]]:
    """The latest QC result as worksheet data; liquid checks go to the notes."""
    qc = batch.latest_qc
    if qc is None:
        return (), None, []
    data = qc.data or {}
    checks = [
        QcCheck(
            "Appearance",
            "As described in the formula",
            str(data.get("appearance", "")),
            bool(data.get("appearance_ok")),
        ),
        QcCheck(
            "Yield",
            f"{data.get('units_planned')} {unit_word(batch.unit, 2)} planned",
            f"{data.get('units_made')} made ({data.get('yield_percent')} %)",
        ),
    ]
    notes = []
    w = data.get("weight_check")
    if w:
        weights = tuple(
            QcWeight(int(u["number"]), _dec(u["gross_mg"]), _dec(u["net_mg"]), bool(u["passed"]))
            for u in w.get("units", [])
        )
        summary = QcSummary(
            target_net_mg=_dec(w["fill_target_mg"]),
            lower_mg=_dec(w["fill_min_mg"]),
            upper_mg=_dec(w["fill_max_mg"]),
            mean_mg=_dec(w["mean_net_mg"]),
            passed=bool(w["passed"]),
            checks=(QcCheck("Empty shell weight", "", f"{data.get('shell_mg')} mg"), *checks),
        )
        return weights, summary, notes
    v = data.get("volume_check")
    if v:
        notes.append(
            f"QC ({'PASS' if qc.passed else 'FAIL'}): final volume {v['final_volume_ml']} mL of "
            f"{v['prepared_ml']} mL prepared ({v['deviation_percent']} %, tolerance "
            f"±{v['tolerance_percent']} %); appearance: {data.get('appearance')} "
            f"({'acceptable' if data.get('appearance_ok') else 'NOT acceptable'}); "
            f"{data.get('units_made')} mL made ({data.get('yield_percent')} %)."
        )
    return (), None, notes


def _equipment(batch: Batch) -> tuple[EquipmentUse, ...]:
    seen = {}
    for b in [batch.balance, *(u.balance for u in batch.lot_usages)]:
        if b is not None and b.id not in seen:
            seen[b.id] = EquipmentUse(
                "Balance",
                b.name,
                f"readability {_num(b.readability_mg)} mg, minimum weighing "
                f"{_num(b.mwq_mg)} mg, calibration due {b.calibration_due.isoformat()}",
            )
    if not seen:
        snap = (batch.calculation or {}).get("balance") or {}
        if snap:
            seen[0] = EquipmentUse("Balance", str(snap.get("name", "")), "")
    return tuple(seen.values())


def _bud_basis(batch: Batch, result: dict) -> str:
    period = next((s for s in result.get("steps", []) if s.get("key") == "bud_period"), None)
    basis = f"{period['formula']}; " if period else ""
    return f"{basis}limited by {batch.bud_limited_by}"


def worksheet_watermark(batch: Batch) -> str | None:
    return {
        "in_progress": "IN PROGRESS",
        "awaiting_check": "NOT RELEASED",
        "rejected": "REJECTED",
        "recalled": "RECALLED",
    }.get(batch.status)


# Aliquot weighings are separate lines of the same lots: say which is which.
_ALIQUOT_LINES = {"diluent": " (aliquot: diluent)", "aliquot": " (aliquot taken from the stock)"}


def worksheet(session: Session, batch: Batch) -> WorksheetData:
    calc = batch.calculation or {}
    formula = calc.get("formula") or {}
    result = calc.get("result") or {}
    steps = tuple(
        CalculationStep(
            str(s.get("label", "")),
            str(s.get("formula", "")),
            _step_value(s.get("value")),
            str(s.get("unit") or ""),
        )
        for s in result.get("steps", [])
    )
    lots = tuple(
        LotUsage(
            component=u.lot.ingredient.name + _ALIQUOT_LINES.get(u.role, ""),
            lot_number=u.lot.lot_number,
            expiry=u.lot.expires_on,
            planned=u.planned_quantity,
            actual=u.actual_quantity,
            unit=u.unit,
            manufacturer=u.lot.manufacturer,
        )
        for u in batch.lot_usages
    )
    if batch.unit == "capsule":
        made = result.get("capsules_to_make", batch.units_planned)
        quantity = f"{batch.units_planned} capsules ordered; make {made} with overage"
    else:
        quantity = (
            f"{batch.units_planned} mL (prepare to {result.get('prepare_volume_ml', '?')} mL)"
        )
    weights, summary, notes = _qc(batch)
    for u in batch.lot_usages:
        if not u.chosen_by_fefo and u.override_reason:
            notes.append(f"Lot {u.lot.lot_number} chosen over FEFO: {u.override_reason}")
        if u.deviation_reason:
            notes.append(f"Weight deviation on lot {u.lot.lot_number}: {u.deviation_reason}")
        if u.sign_off_reason:
            notes.append(f"API weight signed off by a pharmacist: {u.sign_off_reason}")
    qc = batch.latest_qc
    if qc is not None and qc.notes:
        notes.append(f"QC note: {qc.notes}")
    if batch.decision_reason:
        notes.append(f"Decision ({batch.status.replace('_', ' ')}): {batch.decision_reason}")
    if batch.recall_reason:
        notes.append(f"Recalled {batch.recalled_at:%Y-%m-%d}: {batch.recall_reason}")
    checked_on = batch.released_at.date() if batch.released_at else None
    released = batch.status in ("released", "recalled") and batch.checked_by is not None
    orders = ", ".join(o["number"] for o in calc.get("orders", []))
    return WorksheetData(
        pharmacy_name=pharmacy(session).name,
        batch_number=batch.batch_number,
        formula_name=f"{formula.get('code', '')} — {formula.get('name', '')}".strip(" —"),
        formula_version=str(formula.get("version", "")),
        preparation=preparation(batch.strength_mg, batch.strength_basis, _dosage_form(batch)),
        strength=_strength_text(batch),
        dosage_form=(formula.get("dosage_form") or "").replace("_", " ")
        + (f", size {formula['capsule_size']}" if formula.get("capsule_size") else ""),
        quantity=quantity,
        date_compounded=batch.compounded_on,
        beyond_use_date=batch.beyond_use_date,
        bud_basis=_bud_basis(batch, result),
        storage=_storage(batch) + (f"; {formula['container']}" if formula.get("container") else ""),
        steps=steps,
        lots=lots,
        equipment=_equipment(batch),
        qc_weights=weights,
        qc=summary,
        signatures=(
            Signature("Compounded by", _who(batch.compounded_by), batch.compounded_on),
            Signature("Checked by", _who(batch.checked_by), checked_on),
            Signature(
                "Released by",
                _who(batch.checked_by) if released else "",
                checked_on if released else None,
            ),
        ),
        notes=" · ".join(notes),
        prescription_ref=orders,
    )


# --- patient leaflet --------------------------------------------------------------------------


def leaflet(session: Session, rx: Prescription, start: date | None = None) -> LeafletData:
    return LeafletData(
        pharmacy=pharmacy(session),
        patient_name=rx.patient.full_name,
        preparation=preparation(rx.strength_mg, rx.strength_basis, rx.dosage_form),
        directions=rx.directions,
        rx_number=rx.rx_number,
        journal_start=start,
    )
