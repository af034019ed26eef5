"""Batches (compounding records) over the JSON API: start, weights, QC, release or reject,
dispense, and the recall traces (GET /api/v1/lots/<id>/trace and /api/v1/batches/<id>/trace).

Thin views: pydantic gives the shape, pharmacy.services.batches decides, one unit of work
per request. Field errors name the JSON field (e.g. "weights[0].actual").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask import jsonify, request, url_for
from flask_login import current_user
from pydantic import Field

from ...database import unit_of_work
from ...domain.errors import FieldError, ValidationFailed
from ...extensions import db
from ...models import Batch, Dispense, IngredientLot, QcResult
from ...services import batches as service
from ..forms import sign_off
from ..reads import audit_read
from . import SignPassword, bp, parse_body
from .inventory import Id, In, get_or_404, plain

Amount = Annotated[Decimal, Field(allow_inf_nan=False)]
Strength = Annotated[Decimal, Field(gt=0, decimal_places=4, allow_inf_nan=False)]
Note = Annotated[str, Field(max_length=500)]


# --- shapes -----------------------------------------------------------------------------------


class StartIn(In):
    formula_id: Id | None = None
    balance_id: Id | None = None
    strength_mg: Strength | None = None  # blank: the orders' strength
    strength_basis: Literal["hcl", "base"] | None = None
    quantity: Amount | None = None  # capsules or mL; blank: the orders' total
    order_ids: list[Id] = Field(default=[], max_length=200)
    override_lot_ids: list[Id] = Field(default=[], max_length=50)
    override_reason: Note = ""
    potency_acceptance: Note = ""  # pharmacist: an API lot outside 98.0-102.0 % is acceptable
    allergy_override: Note = ""  # pharmacist: go ahead despite an excipient allergy finding


class WeightIn(In):
    usage_id: Id
    actual: Amount | None = None
    balance_id: Id | None = None
    deviation_reason: Note = ""
    scan: str = Field(default="", max_length=200)  # the container's GS1 barcode, as scanned


class WeightsIn(In):
    weights: list[WeightIn] = Field(max_length=100)


class QcIn(In):
    appearance: Note = ""
    appearance_ok: bool = False
    units_made: Annotated[int, Field(ge=0, le=2_000_000_000)] | None = None
    gross_weights_mg: list[Amount] = Field(default=[], max_length=1000)  # capsules
    shell_mg: Amount | None = None  # capsules
    final_volume_ml: Amount | None = None  # liquids
    notes: Annotated[str, Field(max_length=2000)] = ""


class ReasonIn(In):
    reason: Note = ""


class ReleaseIn(ReasonIn):
    password: SignPassword = ""


class QcCorrectionIn(In):
    what: Literal["gross_mg", "shell_mg", "final_volume_ml"]
    number: Annotated[int, Field(ge=1, le=1000)] | None = None  # capsule, for gross_mg
    value: Amount | None = None
    reason: Note = ""


class DispenseIn(In):
    order_id: Id | None = None
    quantity: Amount | None = None
    bud_short_reason: Note = ""  # pharmacist: the BUD ends before the days' supply


def _optional_body(model: type[In]) -> In:
    """A release needs no note: an empty body is the same as {}."""
    return parse_body(model) if request.get_data(cache=True).strip() else model()


# --- JSON out ---------------------------------------------------------------------------------


def qc_dict(qc: QcResult) -> dict:
    return plain(
        {
            "id": qc.id,
            "batch_id": qc.batch_id,
            "kind": qc.kind,
            "passed": qc.passed,
            "data": qc.data,
            "notes": qc.notes,
            "recorded_by_id": qc.recorded_by_id,
            "recorded_at": qc.recorded_at,
        }
    )


def dispense_dict(row: Dispense) -> dict:
    return plain(
        {
            "id": row.id,
            "batch_id": row.batch_id,
            "order_id": row.order_id,
            "quantity": row.quantity,
            "unit": row.unit,
            "dispensed_by_id": row.dispensed_by_id,
            "dispensed_at": row.dispensed_at,
        }
    )


def batch_dict(batch: Batch) -> dict:
    frozen = batch.calculation or {}
    formula = frozen.get("formula", {})
    return plain(
        {
            "id": batch.id,
            "batch_number": batch.batch_number,
            "status": batch.status,
            "formula": {
                "id": batch.formula_id,
                "code": formula.get("code"),
                "version": formula.get("version"),
                "name": formula.get("name"),
            },
            "strength_mg": batch.strength_mg,
            "strength_basis": batch.strength_basis,
            "unit": batch.unit,
            "units_planned": batch.units_planned,
            "units_made": batch.units_made,
            "units_remaining": batch.units_remaining,
            "compounded_on": batch.compounded_on,
            "beyond_use_date": batch.beyond_use_date,
            "bud_limited_by": batch.bud_limited_by,
            "balance_id": batch.balance_id,
            "compounded_by_id": batch.compounded_by_id,
            "checked_by_id": batch.checked_by_id,
            "submitted_at": batch.submitted_at,
            "released_at": batch.released_at,
            "decision_reason": batch.decision_reason,
            "recalled_at": batch.recalled_at,
            "recall_reason": batch.recall_reason,
            "order_ids": [o.id for o in batch.orders],
            "weight_tolerance_percent": service.tolerance_of(batch),
            "api_tolerance_percent": service.api_tolerance_of(batch),
            "qc_sample_size": service.sample_size(batch, batch.units_made or batch.units_planned),
            "held_for_api_sign_off": [u.id for u in service.unsigned_api_deviations(batch)],
            "recalculations": frozen.get("recalculations", []),
            "planned_output": service.planned_output(batch),
            "lot_usages": [
                {
                    "id": u.id,
                    "lot_id": u.lot_id,
                    "lot_number": u.lot.lot_number,
                    "ingredient": u.lot.ingredient.name,
                    "role": u.role,
                    "planned_quantity": u.planned_quantity,
                    "actual_quantity": u.actual_quantity,
                    "unit": u.unit,
                    "deviation_percent": None
                    if u.actual_quantity is None
                    else service.deviation_percent(u.planned_quantity, u.actual_quantity),
                    "deviation_reason": u.deviation_reason,
                    "balance_id": u.balance_id,
                    "weight_source": u.weight_source,
                    "container_scan": u.container_scan,
                    "chosen_by_fefo": u.chosen_by_fefo,
                    "override_reason": u.override_reason,
                    "weighed_by_id": u.weighed_by_id,
                    "weighed_at": u.weighed_at,
                    "signed_off_by_id": u.signed_off_by_id,
                    "signed_off_at": u.signed_off_at,
                    "sign_off_reason": u.sign_off_reason,
                }
                for u in batch.lot_usages
            ],
            "qc": qc_dict(batch.latest_qc) if batch.latest_qc else None,
            "qc_results": [qc_dict(q) for q in batch.qc_results],
            "dispenses": [dispense_dict(d) for d in batch.dispenses],
            "calculation": frozen.get("result"),
        }
    )


def _batch(batch_id: int) -> Batch:
    return get_or_404(Batch, batch_id, "batch")


def _created(body: dict, location: str):
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = location
    return resp


# --- writes -----------------------------------------------------------------------------------


@bp.post("/batches")
def start_batch():
    body = parse_body(StartIn)
    inp = service.StartInput(
        formula_id=body.formula_id,
        balance_id=body.balance_id,
        strength_mg=body.strength_mg,
        strength_basis=body.strength_basis,
        quantity=body.quantity,
        order_ids=tuple(body.order_ids),
        override_lot_ids=tuple(body.override_lot_ids),
        override_reason=body.override_reason,
        potency_acceptance=body.potency_acceptance,
        allergy_override=body.allergy_override,
    )
    with unit_of_work() as s:
        batch = service.start_batch(s, current_user, inp)
    return _created(batch_dict(batch), url_for("api.batch", batch_id=batch.id))


@bp.get("/batches/<int:batch_id>")
def batch(batch_id: int):
    return jsonify(batch_dict(_batch(batch_id)))


@bp.post("/batches/<int:batch_id>/weights")
def batch_weights(batch_id: int):
    row = _batch(batch_id)
    body = parse_body(WeightsIn)
    seen: dict[int, int] = {}
    for i, w in enumerate(body.weights):
        if w.usage_id in seen:
            raise ValidationFailed.single(
                f"weights[{i}].usage_id",
                f"usage {w.usage_id} is already at weights[{seen[w.usage_id]}]",
            )
        seen[w.usage_id] = i
    entries = [
        service.WeightEntry(
            usage_id=w.usage_id,
            actual=w.actual,
            balance_id=w.balance_id,
            deviation_reason=w.deviation_reason,
            scan=w.scan,
        )
        for w in body.weights
    ]
    # The service names the UI's fields (actual_<usage id>, balance_<id>, reason_<id>).
    json_field = {
        "actual": "actual",
        "balance": "balance_id",
        "reason": "deviation_reason",
        "scan": "scan",
    }

    def rename(e: FieldError) -> FieldError:
        prefix, _, usage = e.field.partition("_")
        if prefix not in json_field or not usage.isdigit():
            return e
        if int(usage) in seen:
            return FieldError(f"weights[{seen[int(usage)]}].{json_field[prefix]}", e.message)
        # A line of the batch left out of the list (or not a line of this batch).
        return FieldError("weights", f"usage {usage}: {e.message}")

    try:
        with unit_of_work() as s:
            service.record_weights(s, current_user, row, entries)
    except ValidationFailed as exc:
        raise ValidationFailed([rename(e) for e in exc.errors]) from None
    return jsonify(batch_dict(db.session.get(Batch, batch_id)))


@bp.post("/batches/<int:batch_id>/qc")
def batch_qc(batch_id: int):
    row = _batch(batch_id)
    body = parse_body(QcIn)
    qc = service.QcInput(
        appearance=body.appearance,
        appearance_ok=body.appearance_ok,
        units_made=body.units_made,
        gross_weights_mg=tuple(body.gross_weights_mg),
        shell_mg=body.shell_mg,
        final_volume_ml=body.final_volume_ml,
        notes=body.notes,
    )
    try:
        with unit_of_work() as s:
            result = service.record_qc(s, current_user, row, qc)
    except ValidationFailed as exc:
        # The UI's sample field is "weights"; here it is "gross_weights_mg".
        raise ValidationFailed(
            [
                FieldError("gross_weights_mg", e.message) if e.field == "weights" else e
                for e in exc.errors
            ]
        ) from None
    out = qc_dict(result)
    out["batch"] = batch_dict(db.session.get(Batch, batch_id))
    return _created(out, url_for("api.batch", batch_id=batch_id))


@bp.post("/batches/<int:batch_id>/api-sign-off")
def batch_api_sign_off(batch_id: int):
    """A pharmacist signs off an API weight outside its tolerance; the plan is recalculated."""
    row = _batch(batch_id)
    body = parse_body(ReasonIn)
    try:
        with unit_of_work() as s:
            service.sign_off_api_weight(s, current_user, row, body.reason)
    except ValidationFailed as exc:
        raise ValidationFailed(
            [
                FieldError("reason", e.message) if e.field == "sign_off_reason" else e
                for e in exc.errors
            ]
        ) from None
    return jsonify(batch_dict(db.session.get(Batch, batch_id)))


@bp.post("/batches/<int:batch_id>/qc/corrections")
def batch_qc_correction(batch_id: int):
    """Correct one mistyped figure of a failed quality check; the old record is kept."""
    row = _batch(batch_id)
    body = parse_body(QcCorrectionIn)
    fix = service.QcCorrection(
        what=body.what, number=body.number, value=body.value, reason=body.reason
    )
    with unit_of_work() as s:
        result = service.correct_qc(s, current_user, row, fix)
    out = qc_dict(result)
    out["batch"] = batch_dict(db.session.get(Batch, batch_id))
    return _created(out, url_for("api.batch", batch_id=batch_id))


@bp.post("/batches/<int:batch_id>/release")
def batch_release(batch_id: int):
    row = _batch(batch_id)
    body = _optional_body(ReleaseIn)
    with unit_of_work() as s:
        service.release(s, current_user, row, body.reason, sign=sign_off(body.password))
    return jsonify(batch_dict(db.session.get(Batch, batch_id)))


@bp.post("/batches/<int:batch_id>/reject")
def batch_reject(batch_id: int):
    row = _batch(batch_id)
    body = parse_body(ReasonIn)
    with unit_of_work() as s:
        service.reject(s, current_user, row, body.reason)
    return jsonify(batch_dict(db.session.get(Batch, batch_id)))


@bp.post("/batches/<int:batch_id>/dispense")
def batch_dispense(batch_id: int):
    row = _batch(batch_id)
    body = parse_body(DispenseIn)
    with unit_of_work() as s:
        given = service.dispense(
            s,
            current_user,
            row.id,
            body.order_id,
            body.quantity,
            bud_short_reason=body.bud_short_reason,
        )
        order = given.order
        order_view = {"id": order.id, "number": order.number, "status": order.status}
    out = dispense_dict(given)
    out["order"] = order_view
    after = db.session.get(Batch, batch_id)
    out["batch"] = plain(
        {
            "id": after.id,
            "batch_number": after.batch_number,
            "status": after.status,
            "units_remaining": after.units_remaining,
            "unit": after.unit,
        }
    )
    return _created(out, url_for("api.batch", batch_id=batch_id))


@bp.post("/batches/<int:batch_id>/fill-all")
def batch_fill_all(batch_id: int):
    """Fill every open matching order the batch can cover completely, in one transaction."""
    row = _batch(batch_id)
    with unit_of_work() as s:
        filled, skipped = service.fill_all(s, current_user, row.id)
        out = {
            "dispenses": [
                {
                    **dispense_dict(d),
                    "order": {"id": d.order.id, "number": d.order.number, "status": d.order.status},
                }
                for d in filled
            ],
            "skipped": [
                {"order_id": k.order.id, "number": k.order.number, "reason": k.reason}
                for k in skipped
            ],
        }
    after = db.session.get(Batch, batch_id)
    out["batch"] = plain({"id": after.id, "units_remaining": after.units_remaining})
    return jsonify(out)


@bp.post("/lots/<int:lot_id>/potency-acceptance")
def lot_potency_acceptance(lot_id: int):
    """A pharmacist documents why an API lot outside 98.0-102.0 % (anhydrous) may be used."""
    lot = get_or_404(IngredientLot, lot_id, "lot")
    body = parse_body(ReasonIn)
    try:
        with unit_of_work() as s:
            service.accept_potency(s, current_user, lot, body.reason)
    except ValidationFailed as exc:
        raise ValidationFailed([FieldError("reason", e.message) for e in exc.errors]) from None
    lot = db.session.get(IngredientLot, lot_id)
    return jsonify(
        plain(
            {
                "id": lot.id,
                "lot_number": lot.lot_number,
                "potency_percent": service.lot_potency(lot),
                "potency_accepted_by_id": lot.potency_accepted_by_id,
                "potency_accepted_at": lot.potency_accepted_at,
                "potency_acceptance": lot.potency_acceptance,
            }
        )
    )


# --- recall traces ----------------------------------------------------------------------------


@bp.get("/lots/<int:lot_id>/trace")
def lot_trace(lot_id: int):
    get_or_404(IngredientLot, lot_id, "lot")
    args = request.args
    trace = service.trace_lot(
        db.session,
        lot_id,
        page=args.get("page", 1, type=int),
        batch_page=args.get("batch_page", 1, type=int),
    )
    body = trace.to_dict()
    audit_read(
        "patient_data.read", "lot_trace", lot_id, {"recipients": len(body.get("recipients", []))}
    )
    return jsonify(body)


@bp.get("/batches/<int:batch_id>/trace")
def batch_trace(batch_id: int):
    page = request.args.get("page", 1, type=int)
    return jsonify(service.trace_batch(db.session, _batch(batch_id), page=page).to_dict())
