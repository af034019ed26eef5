"""The quality check of a batch: capsule weights or liquid final volume, appearance, yield."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from ...database import utcnow
from ...domain import calc, lifecycle
from ...domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ...models import Batch, QcResult, User
from .. import audit
from .. import orders as order_service
from .common import (
    DEFAULT_QC_SAMPLE,
    _label,
    _lock_batch,
    _lock_orders,
    _move,
    _num,
    deviation_percent,
    tolerance_of,
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


def sample_size(batch: Batch) -> int:
    return int(batch.calculation["formula"].get("qc_sample_size") or DEFAULT_QC_SAMPLE)


def record_qc(session: Session, actor: User, batch: Batch, qc: QcInput) -> QcResult:
    batch = _lock_batch(session, batch.id)
    if batch.status != "in_progress":
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number} is {_label(batch.status)}: its quality check is done."
        )
    if any(u.actual_quantity is None for u in batch.lot_usages):
        raise TransitionNotAllowed(
            f"Batch {batch.batch_number}: record the actual quantity of every ingredient "
            "before the quality check."
        )
    calc_result = batch.calculation["result"]
    kind = batch.calculation["request"]["kind"]
    tolerance = tolerance_of(batch)
    errors: list[FieldError] = []
    appearance = (qc.appearance or "").strip()
    if not appearance:
        errors.append(FieldError("appearance", "describe the appearance"))
    if qc.units_made is None or qc.units_made < 0:
        errors.append(FieldError("units_made", "enter how many units were made"))
    data: dict = {"appearance": appearance, "appearance_ok": bool(qc.appearance_ok)}
    passed_check = False
    if kind == "capsule":
        size = sample_size(batch)
        if len(qc.gross_weights_mg) != size:
            errors.append(
                FieldError(
                    "weights",
                    f"weigh exactly {size} capsules (the formula's sample); "
                    f"{len(qc.gross_weights_mg)} entered",
                )
            )
        if qc.shell_mg is None:
            errors.append(FieldError("shell_mg", "enter the empty shell weight"))
        made_max = int(calc_result["capsules_to_make"])
        if qc.units_made is not None and qc.units_made > made_max:
            errors.append(
                FieldError("units_made", f"at most {made_max} capsules were planned with overage")
            )
        if errors:
            raise ValidationFailed(errors)
        check = calc.check_weights(
            calc.WeightCheckRequest(
                fill_target_mg=Decimal(calc_result["fill_target_mg"]),
                shell_mg=qc.shell_mg,
                gross_weights_mg=tuple(qc.gross_weights_mg),
                tolerance_percent=tolerance,
            )
        )
        passed_check = check.passed
        data["weight_check"] = check.to_dict()
        data["shell_mg"] = qc.shell_mg
    else:
        prepared = Decimal(calc_result["prepare_volume_ml"])
        if qc.final_volume_ml is None or qc.final_volume_ml <= 0:
            errors.append(FieldError("final_volume_ml", "enter the final volume"))
        if qc.units_made is not None and qc.units_made > prepared:
            errors.append(FieldError("units_made", f"only {_num(prepared)} mL were prepared"))
        if errors:
            raise ValidationFailed(errors)
        deviation = deviation_percent(prepared, qc.final_volume_ml)
        passed_check = deviation <= tolerance
        data["volume_check"] = {
            "prepared_ml": prepared,
            "final_volume_ml": qc.final_volume_ml,
            "deviation_percent": deviation,
            "tolerance_percent": tolerance,
            "passed": passed_check,
        }
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
    passed = not failures
    result = QcResult(
        batch_id=batch.id,
        kind="capsule_weights" if kind == "capsule" else "liquid_volume",
        data=audit._plain(data),
        passed=passed,
        notes=(qc.notes or "").strip(),
        recorded_by_id=actor.id,
    )
    session.add(result)
    old_made = batch.units_made
    batch.units_made = qc.units_made
    session.flush()
    audit.record(
        session,
        actor,
        "batch.qc",
        "batch",
        batch.id,
        {"units_made": old_made},
        {"units_made": qc.units_made, "passed": passed, "qc_result_id": result.id},
    )
    if passed:
        lifecycle.check_transition("batch", batch.status, "awaiting_check", roles=actor.roles)
        batch.submitted_at = utcnow()
        _move(session, actor, batch, "awaiting_check", None)
        for o in _lock_orders(session, (o.id for o in batch.orders)):
            if o.status == "in_compounding":
                order_service.transition(
                    session,
                    actor,
                    o,
                    "quality_check",
                    reason=f"batch {batch.batch_number} awaits the pharmacist's check",
                )
    else:
        why = f"failed quality check: {', '.join(failures)}"
        lifecycle.check_transition("batch", batch.status, "rejected", roles=actor.roles, reason=why)
        batch.decision_reason = why
        _move(session, actor, batch, "rejected", why)
    return result
