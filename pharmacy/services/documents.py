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
from ..domain import dosing
from ..domain.errors import TransitionNotAllowed, ValidationFailed
from ..domain.labelling import label_notes, label_storage, method_steps
from ..domain.titration import TitrationStep as TitrationFacts
from ..models import Batch, Dispense, Order, PharmacyProfile, Prescription, User
from . import orders as order_service
from . import signatures
from .prescription_dose import maintenance_directions

# Orders a pharmacist has checked (final check): the label, with their initials as RPh, goes
# on the vial at this point or later.
LABELLABLE_ORDER_STATUSES = ("checked", "dispensed")
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
    """'Naltrexone HCl 4.5 mg capsules', 'Naltrexone (base) 1 mg/mL oral solution'.

    `strength_mg` is the product made (mg per capsule, or mg/mL), never the dose."""
    form = FORM_NAMES.get(dosage_form, (dosage_form.replace("_", " "),) * 2)[1]
    unit = dosing.unit_for(dosage_form)
    return f"{substance(basis)} {dosing.strength_text(strength_mg, unit)} {form}"


def dispensed_preparation(rx: Prescription, batches: Sequence[Batch] = ()) -> str:
    """What the patient receives: the strengths of the batches filled (or, before a fill, the
    prescription's), e.g. a titration's 'Naltrexone HCl 1.5 mg, 3 mg and 4.5 mg capsules'."""
    strengths = [b.strength_mg for b in batches] or rx.strengths
    form = FORM_NAMES.get(rx.dosage_form, (rx.dosage_form.replace("_", " "),) * 2)[1]
    listed = dosing.strengths_text(strengths, dosing.unit_for(rx.dosage_form))
    return f"{substance(rx.strength_basis)} {listed} {form}"


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
    """Storage as the batch's BUD category requires it (a non-preserved aqueous liquid is
    refrigerated whatever the formula's text says), with the formula's own detail."""
    formula = (batch.calculation or {}).get("formula") or {}
    storage = label_storage(formula.get("bud_category"), formula.get("storage"))
    return storage or (batch.calculation or {}).get("result", {}).get("storage", "")


def _notes(batches: Sequence[Batch]) -> tuple[str, ...]:
    """The formula's labelling notes and the calculation's auxiliary notes ("Shake well")."""
    notes: list[str] = []
    for batch in batches:
        calc = batch.calculation or {}
        formula, result = calc.get("formula") or {}, calc.get("result") or {}
        notes += label_notes(formula.get("labelling_notes"), result.get("auxiliary_notes") or ())
    return label_notes(None, notes)


def _storages(batches: Sequence[Batch]) -> str:
    return " ".join(dict.fromkeys(_storage(b) for b in batches))


def _initials(user: User | None) -> str:
    return user.initials if user is not None else ""


# --- dispensing labels ------------------------------------------------------------------------


def order_dispenses(session: Session, order: Order) -> list[Dispense]:
    return list(
        session.scalars(select(Dispense).where(Dispense.order_id == order.id).order_by(Dispense.id))
    )


def _filled(session: Session, order: Order, preview: bool = False) -> list[Dispense]:
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
    if order.status not in LABELLABLE_ORDER_STATUSES and not preview:
        raise DocumentRefused(
            f"Order {order.number} is {status}: its label is printed once a pharmacist has "
            "made the final check (checked)."
        )
    return rows


def _pharmacist_initials(
    session: Session, order: Order, rows: Sequence[Dispense], rx: Prescription
) -> str:
    """The pharmacist who made the final check. Orders dispensed before final checks were
    recorded: the dispensing pharmacist if a pharmacist filled it, else the verifying one."""
    from .handout import latest_check

    check = latest_check(session, order)
    if check is not None:
        return check.checked_by.initials
    if order.status not in ("dispensed", "cancelled"):
        return "—"  # not checked yet: a preview for the final check, never printed
    for d in reversed(rows):
        if d.dispensed_by.has_role("pharmacist"):
            return d.dispensed_by.initials
    return _initials(rx.verified_by)


def _check_esigned(session: Session, order: Order) -> bool:
    from .handout import latest_check

    check = latest_check(session, order)
    sig = signatures.latest(session, "rx_order", order.id, "final_check")
    return check is not None and sig is not None and sig.content.get("final_check_id") == check.id


def _esigned(session: Session, entity: str, entity_id: int, meaning_code: str) -> str:
    sig = signatures.latest(session, entity, entity_id, meaning_code)
    return signatures.stamp(sig) if sig is not None else ""


def _batches(rows: Sequence[Dispense]) -> list[Batch]:
    return list({d.batch_id: d.batch for d in rows}.values())


def dispensing_label(session: Session, order: Order, preview: bool = False) -> DispensingLabelData:
    """`preview`: for the final check, before the label may be printed (no RPh yet)."""
    rows = _filled(session, order, preview)
    rx = order.prescription
    batches = _batches(rows)
    quantity = sum((d.quantity for d in rows), Decimal(0))
    return DispensingLabelData(
        pharmacy=pharmacy(session),
        rx_number=rx.rx_number,
        fill_number=order.fill_number,
        patient_name=rx.patient.full_name,
        preparation=dispensed_preparation(rx, batches),
        quantity=_number(quantity),
        quantity_unit=unit_word(order.quantity_unit, quantity),
        directions=rx.directions if order.is_titration else maintenance_directions(rx),
        prescriber=rx.prescriber.display_name,
        date_filled=max(d.dispensed_at for d in rows).date(),
        refills_remaining=order_service.terms(rx).refills_remaining,
        batch_number=", ".join(b.batch_number for b in batches),
        beyond_use_date=min(b.beyond_use_date for b in batches),
        storage=_storages(batches),
        pharmacist_initials=_pharmacist_initials(session, order, rows, rx),
        pharmacist_esigned=_check_esigned(session, order),
        extra_warnings=_notes(batches),
        # The queue, the order page and the label all say it is a titration.
        caption="Titration: follow the schedule on your step labels and calendar"
        if order.is_titration
        else "",
    )


# --- titration kits ---------------------------------------------------------------------------


def _by_strength(rows: Sequence[Dispense]) -> dict[Decimal, tuple[Decimal, list[Batch]]]:
    """Units dispensed and their batches, per product strength (a titration may need several)."""
    out: dict[Decimal, tuple[Decimal, list[Batch]]] = {}
    for d in rows:
        key = d.batch.strength_mg.normalize()
        units, batches = out.get(key, (Decimal(0), []))
        if d.batch not in batches:
            batches.append(d.batch)
        out[key] = (units + d.quantity, batches)
    return out


def _kit_plan(rx: Prescription) -> tuple[list[dosing.PlannedStep], dosing.Amount]:
    steps = [TitrationFacts(s.strength_mg, s.days or 0) for s in rx.titration_steps]
    try:
        planned = dosing.plan_titration(steps, strength_mg=rx.strength_mg, unit=rx.unit)
        return planned, dosing.amount_per_dose(rx.dose_mg, rx.strength_mg, rx.unit)
    except ValidationFailed as exc:  # checked at intake; only a record from before the check
        raise DocumentRefused(
            f"Prescription {rx.rx_number}'s titration cannot be given with the strengths "
            f"made: {exc}. Correct the prescription before printing."
        ) from exc


def titration_kit(session: Session, order: Order, start: date | None = None) -> TitrationKitData:
    """One label per titration step, then one for the maintenance dose, from the units
    dispensed to this order; each step names the strength and batch it is given from.

    Whether each step can be given was checked at intake and verification
    (pharmacy.domain.dosing); here the fill must hold each strength the plan uses."""
    rx = order.prescription
    if not rx.titration_steps:
        raise DocumentRefused(f"Prescription {rx.rx_number} has no titration plan.")
    if not order.is_titration:
        raise DocumentRefused(
            f"Order {order.number} is a refill: the titration was given with the first fill, "
            "and this fill continues the maintenance dose (print its dispensing label)."
        )
    rows = _filled(session, order)
    filled_on = max(d.dispensed_at for d in rows).date()
    start = start or filled_on
    planned, maintenance = _kit_plan(rx)
    dpd, unit, when = rx.doses_per_day, rx.unit, _when(rx.directions)
    have = _by_strength(rows)
    need = dosing.strengths_needed(planned, dpd)
    short = [
        f"{dosing.units_text(n, unit)} of {dosing.strength_text(s, unit)}"
        for s, n in need.items()
        if have.get(s, (Decimal(0), []))[0] < n
    ]
    if short:
        raise DocumentRefused(
            f"The titration plan needs {', '.join(short)}; order {order.number} was not filled "
            "with that much: fill each strength from its own released batch."
        )
    left, _b = have.get(rx.strength_mg.normalize(), (Decimal(0), []))
    left -= need.get(rx.strength_mg.normalize(), Decimal(0))
    per_day = maintenance.units * dpd
    days_left = int(left // per_day) if per_day else 0
    schedule = [(p.amount, p.days) for p in planned]
    if days_left:
        schedule.append((maintenance, days_left))
    steps, day, last = [], start, len(schedule)
    for n, (amount, days) in enumerate(schedule, start=1):
        _units, batches = have[amount.strength_mg.normalize()]
        quantity = amount.units * dpd * days
        then = f"; then go on to step {n + 1}" if n < last else ""
        steps.append(
            labels.TitrationStep(
                start_date=day,
                days=days,
                dose=dosing.mg_text(amount.delivered_mg * dpd),
                preparation=preparation(amount.strength_mg, rx.strength_basis, rx.dosage_form),
                quantity=_number(quantity),
                quantity_unit=unit_word(unit, quantity),
                directions=(
                    f"{dosing.directions(amount, dpd, when)} for {days} days{then}."
                    if n < last or not days_left
                    else f"{dosing.directions(amount, dpd, when)} (maintenance dose)."
                ),
                batch_number=", ".join(b.batch_number for b in batches),
                beyond_use_date=min(b.beyond_use_date for b in batches),
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
        storage=_storages(_batches(rows)),
        pharmacist_initials=_pharmacist_initials(session, order, rows, rx),
        pharmacist_esigned=_check_esigned(session, order),
        steps=tuple(steps),
        extra_warnings=_notes(_batches(rows)),
    )


def _when(directions: str) -> str:
    return "at bedtime" if "bedtime" in (directions or "").lower() else ""


# --- batch documents --------------------------------------------------------------------------


def _who(user: User | None) -> str:
    return f"{user.full_name} ({user.initials})" if user is not None else ""


def _strength_text(batch: Batch) -> str:
    """ "4.5 mg Naltrexone HCl per capsule", "1 mg Naltrexone HCl per mL" (the product made)."""
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
        notes=_notes([batch]),
    )


def _step_value(value: object) -> Decimal | int | str:
    if isinstance(value, int | Decimal):
        return value
    return "" if value is None else str(value)


def _dec(value: object) -> Decimal:
    return Decimal(str(value))


def _liquid_checks(batch: Batch, data: dict, formula: dict) -> tuple[QcCheck, ...]:
    """Final volume, appearance, yield and any other recorded reading (pH), or blank lines
    to write them on when QC is not recorded yet."""
    calc_result = (batch.calculation or {}).get("result") or {}
    v = data.get("volume_check") or {}
    prepared = v.get("prepared_ml", calc_result.get("prepare_volume_ml", "?"))
    tolerance = v.get("tolerance_percent", formula.get("weight_tolerance_percent", "?"))
    volume = f"{v['final_volume_ml']} mL ({v['deviation_percent']} % from prepared)" if v else ""
    checks = [
        QcCheck("Final volume", f"{prepared} mL ± {tolerance} %", volume, v.get("passed")),
        QcCheck(
            "Appearance",
            formula.get("qc_requirements") or "As described in the formula",
            str(data.get("appearance") or ""),
            bool(data.get("appearance_ok")) if data else None,
        ),
    ]
    if data.get("ph") is not None:
        checks.append(QcCheck("pH", str(data.get("ph_expected") or ""), str(data["ph"])))
    made = f"{data.get('units_made')} mL made ({data.get('yield_percent')} %)" if data else ""
    checks.append(QcCheck("Yield", f"{batch.units_planned} mL ordered", made))
    return tuple(checks)


def _qc(batch: Batch, formula: dict) -> tuple[tuple[QcWeight, ...], QcSummary | None, tuple]:
    """The latest QC result as worksheet data: capsule weights, or the liquid's checks."""
    qc = batch.latest_qc
    data = (qc.data or {}) if qc is not None else {}
    if batch.unit != "capsule":
        return (), None, _liquid_checks(batch, data, formula)
    if qc is None:
        return (), None, ()
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
    w = data.get("weight_check")
    if not w:
        return (), None, tuple(checks)
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
    return weights, summary, ()


def _weigher(session: Session, user_id: int | None) -> str:
    return _initials(session.get(User, user_id)) if user_id is not None else ""


def _qc_verdict(batch: Batch) -> str:
    qc = batch.latest_qc
    if qc is None:
        return ""
    who = qc.recorded_by.full_name if qc.recorded_by is not None else "?"
    return f"{'PASS' if qc.passed else 'FAIL'} — recorded by {who} on {qc.recorded_at:%Y-%m-%d}"


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
            weighed_by=_weigher(session, u.weighed_by_id) if u.actual_quantity is not None else "",
            weight_source=(u.weight_source or "") if u.actual_quantity is not None else "",
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
    weights, summary, checks = _qc(batch, formula)
    notes: list[str] = []
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
                _esigned(session, "batch", batch.id, "batch_release") if released else "",
            ),
            *_mfr_signature(session, batch),
        ),
        notes=" · ".join(notes),
        prescription_ref=orders,
        method_steps=method_steps(formula.get("method")),
        qc_checks=checks,
        qc_verdict=_qc_verdict(batch),
        qc_blank_rows=int(formula.get("qc_sample_size") or 10) if batch.unit == "capsule" else 0,
    )


def _mfr_signature(session: Session, batch: Batch) -> tuple[Signature, ...]:
    """The master formulation record's approval, when it was signed electronically."""
    sig = signatures.latest(session, "formula", batch.formula_id, "mfr_approve")
    if sig is None:
        return ()
    name = f"{sig.signer_name} ({sig.signer_initials})"
    return (Signature("MFR approved by", name, sig.signed_at.date(), signatures.stamp(sig)),)


# --- patient leaflet --------------------------------------------------------------------------


def leaflet(session: Session, rx: Prescription, start: date | None = None) -> LeafletData:
    return LeafletData(
        pharmacy=pharmacy(session),
        patient_name=rx.patient.full_name,
        preparation=dispensed_preparation(rx),
        directions=rx.directions,
        rx_number=rx.rx_number,
        journal_start=start,
    )
