"""GET /api/v1/lots/<id>/trace and /api/v1/batches/<id>/trace: who received what (recalls)."""

from __future__ import annotations

from flask import abort, jsonify

from ...extensions import db
from ...models import Batch, IngredientLot
from ...services import batches as service
from . import bp


@bp.get("/lots/<int:lot_id>/trace")
def lot_trace(lot_id: int):
    if db.session.get(IngredientLot, lot_id) is None:
        abort(404, "No such lot.")
    return jsonify(service.trace_lot(db.session, lot_id).to_dict())


@bp.get("/batches/<int:batch_id>/trace")
def batch_trace(batch_id: int):
    batch = db.session.get(Batch, batch_id) or abort(404, "No such batch.")
    return jsonify(service.trace_batch(db.session, batch).to_dict())
