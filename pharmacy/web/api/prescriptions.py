"""POST /api/v1/screening (the fixed contract of issue 4) and the order look-up as JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ...domain import screening
from ...domain.titration import TitrationStep
from ...extensions import db
from ...models import Order
from ...services import orders as order_svc
from ..reads import audit_read
from . import bp, parse_body
from .inventory import get_or_404
from .order_moves import order_detail


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientIn(_In):
    medications: list[str] = []
    allergies: list[str] = []
    pregnant: bool = False
    breastfeeding: bool = False
    liver_disease: Literal["none", "acute_hepatitis", "liver_failure", "other"] = "none"


class StepIn(_In):
    strength_mg: Decimal
    days: int


class PrescriptionIn(_In):
    strength_mg: Decimal
    strength_basis: Literal["hcl", "base"] = "hcl"
    doses_per_day: int = Field(default=1)
    titration: list[StepIn] = []


class ScreeningIn(_In):
    patient: PatientIn
    prescription: PrescriptionIn


@bp.post("/screening")
def screening_check():
    body = parse_body(ScreeningIn)
    p, rx = body.patient, body.prescription
    findings = screening.screen(
        screening.PatientFacts(
            medications=tuple(p.medications),
            allergies=tuple(p.allergies),
            pregnant=p.pregnant,
            breastfeeding=p.breastfeeding,
            liver_disease=p.liver_disease,
        ),
        screening.PrescriptionFacts(
            strength_mg=rx.strength_mg,
            strength_basis=rx.strength_basis,
            doses_per_day=rx.doses_per_day,
            titration=tuple(TitrationStep(s.strength_mg, s.days) for s in rx.titration),
        ),
    )
    return jsonify({"findings": [f.as_dict() for f in findings]})


@bp.get("/orders")
def orders():
    before = request.args.get("before", type=int)
    q = request.args.get("q", "")
    page = order_svc.lookup(db.session, q, before)
    body = {
        "orders": [order_svc.order_dict(o) for o in page.orders],
        "next_before": page.next_before,
    }
    audit_read(
        "patient_data.read",
        "order_search",
        (q or "all")[:40],
        {"api": "GET /api/v1/orders", "q": q[:200], "orders": len(body["orders"])},
    )
    return jsonify(body)


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    get_or_404(Order, order_id, "order")
    body = order_detail(order_id)
    audit_read("patient_data.read", "order", order_id, {"api": f"GET /api/v1/orders/{order_id}"})
    return jsonify(body)
