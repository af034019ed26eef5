"""The quality check of a batch: capsule weights or liquid final volume, appearance, yield.

A failed check leaves the batch in progress with the failure on record: a mistyped figure can
be corrected (the corrected result is a new record, the old one is kept, the correction is
audited with its reason) or the batch is rejected. It is never checked again from scratch,
so a batch cannot be re-weighed until it passes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...database import utcnow
from ...domain import calc, lifecycle, weighing
from ...domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ...models import Batch, QcResult, User
from ...models.batches import batch_order
from .. import audit
from .. import orders as order_service
from .common import (
    _label,
    _lock_batch,
    _lock_orders,
    _move,
    _num,
    tolerance_of,
    unsigned_api_deviations,
)


@dataclass(frozen=True)
class QcInput:
    appearance: str
    appearance_ok: bool
    units_made: int | None
    gross_weights_mg: tuple[Decimal, ...] = ()
    shell_mg: Decimal | None = None
    final_volume_ml: Decimal | None = None
    notes: str = ""


@dataclass(frozen=True)
class QcCorrection:
    what: str  # "gross_mg" (capsule `number`), "shell_mg" or "final_volume_ml"
    value: Decimal | None
    reason: str
    number: int | None = None  # 1-based capsule number for "gross_mg"


CORRECTABLE = ("gross_mg", "shell_mg", "final_volume_ml")


def planned_output(batch: Batch) -> dict:
    """Capsules to make / volume to prepare, after any recalculation from the API weighed."""
    result = batch.calculation["result"]
    out = {
        "capsules_to_make": result.get("capsules_to_make"),
        "prepare_volume_ml": result.get("prepare_volume_ml"),
    }
    for recalc in batch.calculation.get("recalculations", []):
        out.update({k: recalc[k] for k in out if k in recalc})
    return out


def sample_size(batch: Batch, units_made: int | None = None) -> int:
    """At least 10 capsules, or all of them when fewer were made."""
    made = units_made if units_made is not None else batch.units_made
    return weighing.qc_sample_size(batch.calculation["formula"].get("qc_sample_size"), made)


def _latest_failed(batch: Batch) -> QcResult | None:
    latest = batch.latest_qc
    return latest if latest is not None and not latest.passed else None


def _check_ready(batch: Batch) -> None:
    if batch.status != "in_progress":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: its quality check is done."
        )
    if any(u.actual_quantity is None for u in batch.lot_usages):
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number}: record the actual quantity of every ingredient "
            "before the quality check."
        )
    held = unsigned_api_deviations(batch)
    if held:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is stopped: the API weight "
            + ", ".join(f"{_num(u.actual_quantity)} {u.unit} ({u.role})" for u in held)
            + " is outside its tolerance. A pharmacist must sign it off (the plan is "
            "recalculated) before the quality check."
        )


def _capsule_check(batch: Batch, qc: QcInput, errors: list[FieldError]):
    size = sample_size(batch, qc.units_made)
    if len(qc.gross_weights_mg) != size:
        errors.append(
            FieldError(
                "weights",
                f"weigh exactly {size} capsules (at least {weighing.QC_SAMPLE_MIN}, or every "
                f"capsule of a smaller batch); {len(qc.gross_weights_mg)} entered",
            )
        )
    if qc.shell_mg is None:
        errors.append(FieldError("shell_mg", "enter the empty shell weight"))
    made_max = int(planned_output(batch)["capsules_to_make"])
    if qc.units_made is not None and qc.units_made > made_max:
        errors.append(
            FieldError("units_made", f"at most {made_max} capsules were planned with overage")
        )
    if errors:
        raise ValidationFailed(errors)
    check = calc.check_weights(
        calc.WeightCheckRequest(
            fill_target_mg=Decimal(batch.calculation["result"]["fill_target_mg"]),
            shell_mg=qc.shell_mg,
            gross_weights_mg=tuple(qc.gross_weights_mg),
            tolerance_percent=tolerance_of(batch),
        )
    )
    return {"weight_check": check.to_dict(), "shell_mg": qc.shell_mg}, check.passed


def _liquid_check(batch: Batch, qc: QcInput, errors: list[FieldError]):
    prepared = Decimal(str(planned_output(batch)["prepare_volume_ml"]))
    if qc.final_volume_ml is None or qc.final_volume_ml <= 0:
        errors.append(FieldError("final_volume_ml", "enter the final volume"))
    if qc.units_made is not None and qc.units_made > prepared:
        errors.append(FieldError("units_made", f"only {_num(prepared)} mL were prepared"))
    if errors:
        raise ValidationFailed(errors)
    deviation, passed = weighing.volume_deviation(prepared, qc.final_volume_ml)
    return {
        "volume_check": {
            "prepared_ml": prepared,
            "final_volume_ml": qc.final_volume_ml,
            "deviation_percent": deviation,
            "tolerance_percent": weighing.LIQUID_VOLUME_TOLERANCE,
            "passed": passed,
        }
    }, passed


def _evaluate(batch: Batch, qc: QcInput) -> tuple[dict, list[str]]:
    kind = batch.calculation["request"]["kind"]
    errors: list[FieldError] = []
    appearance = (qc.appearance or "").strip()
    if not appearance:
        errors.append(FieldError("appearance", "describe the appearance"))
    if qc.units_made is None or qc.units_made < 0:
        errors.append(FieldError("units_made", "enter how many units were made"))
    check = _capsule_check if kind == "capsule" else _liquid_check
    part, passed_check = check(batch, qc, errors)
    data: dict = {"appearance": appearance, "appearance_ok": bool(qc.appearance_ok), **part}
    data["units_made"] = qc.units_made
    data["units_planned"] = batch.units_planned
    data["yield_percent"] = (Decimal(qc.units_made) / batch.units_planned * 100).quantize(
        Decimal("0.1")
    )
    failures = []
    if not passed_check:
        failures.append("capsule weights" if kind == "capsule" else "final volume")
    if not qc.appearance_ok:
        failures.append("appearance")
    if qc.units_made == 0:
        failures.append("nothing was made")
    if failures:
        data["failures"] = failures
    return data, failures


def _save(session, actor: User, batch: Batch, qc: QcInput, data: dict, failures, action: str):
    kind = batch.calculation["request"]["kind"]
    result = QcResult(
        batch_id=batch.id,
        kind="capsule_weights" if kind == "capsule" else "liquid_volume",
        data=audit._plain(data),
        passed=not failures,
        notes=(qc.notes or "").strip(),
        recorded_by_id=actor.id,
    )
    session.add(result)
    old_made = batch.units_made
    batch.units_made = qc.units_made
    session.flush()
    new = {"units_made": qc.units_made, "passed": not failures, "qc_result_id": result.id}
    if "correction" in data:
        new["correction"] = data["correction"]
    reason = data.get("correction", {}).get("reason")
    audit.record(
        session, actor, action, "batch", batch.id, {"units_made": old_made}, new, reason=reason
    )
    if not failures:
        _to_awaiting_check(session, actor, batch)
    return result


def _other_batch_in_progress(session: Session, order, batch: Batch) -> bool:
    return (
        session.scalar(
            select(Batch.id)
            .join(batch_order, batch_order.c.batch_id == Batch.id)
            .where(
                batch_order.c.order_id == order.id,
                Batch.id != batch.id,
                Batch.status == "in_progress",
            )
            .limit(1)
        )
        is not None
    )


def _to_awaiting_check(session, actor: User, batch: Batch) -> None:
    lifecycle.check_transition("batch", batch.status, "awaiting_check", roles=actor.roles)
    batch.submitted_at = utcnow()
    _move(session, actor, batch, "awaiting_check", None)
    for o in _lock_orders(session, (o.id for o in batch.orders)):
        # An order with another batch still being made (a titration step) stays in compounding.
        if o.status == "in_compounding" and not _other_batch_in_progress(session, o, batch):
            order_service.transition(
                session,
                actor,
                o,
                "quality_check",
                reason=f"batch {batch.batch_number} awaits the pharmacist's check",
            )


def record_qc(session: Session, actor: User, batch: Batch, qc: QcInput) -> QcResult:
    batch = _lock_batch(session, batch.id)
    _check_ready(batch)
    if _latest_failed(batch) is not None:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} failed its quality check: correct a mistyped figure "
            "(with the reason) or reject the batch."
        )
    data, failures = _evaluate(batch, qc)
    return _save(session, actor, batch, qc, data, failures, "batch.qc")


def _as_input(row: QcResult) -> QcInput:
    data = row.data
    weights = tuple(Decimal(u["gross_mg"]) for u in data.get("weight_check", {}).get("units", []))
    volume = data.get("volume_check", {}).get("final_volume_ml")
    return QcInput(
        appearance=data["appearance"],
        appearance_ok=data["appearance_ok"],
        units_made=data["units_made"],
        gross_weights_mg=weights,
        shell_mg=Decimal(data["shell_mg"]) if data.get("shell_mg") is not None else None,
        final_volume_ml=Decimal(volume) if volume is not None else None,
        notes=row.notes,
    )


def _corrected(qc: QcInput, fix: QcCorrection) -> tuple[QcInput, Decimal | None]:
    if fix.what == "gross_mg":
        n = len(qc.gross_weights_mg)
        if fix.number is None or not 1 <= fix.number <= n:
            raise ValidationFailed.single("number", f"choose a capsule from 1 to {n}")
        weights = list(qc.gross_weights_mg)
        old, weights[fix.number - 1] = weights[fix.number - 1], fix.value
        return replace(qc, gross_weights_mg=tuple(weights)), old
    if fix.what == "shell_mg":
        return replace(qc, shell_mg=fix.value), qc.shell_mg
    return replace(qc, final_volume_ml=fix.value), qc.final_volume_ml


def correct_qc(session: Session, actor: User, batch: Batch, fix: QcCorrection) -> QcResult:
    """Correct one mistyped figure of a failed quality check and judge the batch again."""
    batch = _lock_batch(session, batch.id)
    _check_ready(batch)
    failed = _latest_failed(batch)
    if failed is None:
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number}: only a failed quality check can be corrected."
        )
    kind = batch.calculation["request"]["kind"]
    allowed = ("gross_mg", "shell_mg") if kind == "capsule" else ("final_volume_ml",)
    errors = []
    if fix.what not in allowed:
        errors.append(FieldError("what", f"must be one of {', '.join(allowed)}"))
    if fix.value is None or not fix.value.is_finite() or fix.value <= 0:
        errors.append(FieldError("value", "enter the correct figure (more than zero)"))
    if not (fix.reason or "").strip():
        errors.append(FieldError("reason", "say why the figure was wrong"))
    if errors:
        raise ValidationFailed(errors)
    qc, old = _corrected(_as_input(failed), fix)
    data, failures = _evaluate(batch, qc)
    data["corrects_qc_id"] = failed.id
    data["correction"] = {
        "what": fix.what,
        "number": fix.number,
        "old": old,
        "new": fix.value,
        "reason": fix.reason.strip(),
    }
    return _save(session, actor, batch, qc, data, failures, "batch.qc_correction")
