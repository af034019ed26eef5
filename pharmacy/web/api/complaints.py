"""JSON API for complaints and adverse events (as the Complaints pages; services check roles)."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Response, jsonify, url_for
from flask_login import current_user
from pydantic import Field

from labels import render_medwatch

from ...database import unit_of_work
from ...extensions import db
from ...models import Complaint
from ...services import complaints as svc
from . import Day, bp, parse_body
from .inventory import In, get_or_404, plain

Short = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(max_length=5000)]


class ComplaintIn(In):
    kind: Literal["complaint", "adverse_event"]
    severity: Literal["mild", "moderate", "severe", "life_threatening"]
    reporter_name: Short
    reporter_role: Short
    event_date: Day
    received_on: Day
    description: Text
    reporter_contact: Short = ""
    batch_number: Short = ""
    order_number: Short = ""


class ReviewIn(In):
    action: Literal["none", "trace", "recall"]
    notes: Text


def complaint_dict(c: Complaint) -> dict:
    return plain(
        {
            "id": c.id,
            "report": f"C-{c.id:05d}",
            "kind": c.kind,
            "severity": c.severity,
            "status": c.status,
            "batch_id": c.batch_id,
            "batch_number": c.batch.batch_number if c.batch else None,
            "order_id": c.order_id,
            "order_number": c.order.number if c.order else None,
            "reporter_name": c.reporter_name,
            "reporter_role": c.reporter_role,
            "reporter_contact": c.reporter_contact,
            "event_date": c.event_date,
            "received_on": c.received_on,
            "description": c.description,
            "recorded_by": c.recorded_by.initials,
            "recorded_at": c.recorded_at,
            "review_action": c.review_action,
            "review_notes": c.review_notes,
            "reviewed_by": c.reviewed_by.initials if c.reviewed_by else None,
            "reviewed_at": c.reviewed_at,
        }
    )


@bp.post("/complaints")
def create_complaint():
    body = parse_body(ComplaintIn)
    with unit_of_work() as s:
        row = svc.record(s, current_user, svc.ReportInput(**body.model_dump()))
        cid = row.id
    resp = jsonify(complaint_dict(db.session.get(Complaint, cid)))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.complaint", complaint_id=cid)
    return resp


@bp.get("/complaints/<int:complaint_id>")
def complaint(complaint_id: int):
    return jsonify(complaint_dict(get_or_404(Complaint, complaint_id, "complaint")))


@bp.post("/complaints/<int:complaint_id>/review")
def review_complaint(complaint_id: int):
    row = get_or_404(Complaint, complaint_id, "complaint")
    body = parse_body(ReviewIn)
    with unit_of_work() as s:
        held = svc.review(s, current_user, row, body.action, body.notes)
        held_numbers = [o.number for o in held]
    out = complaint_dict(db.session.get(Complaint, complaint_id))
    out["orders_held"] = held_numbers
    return jsonify(out)


@bp.get("/complaints/<int:complaint_id>/medwatch.pdf")
def complaint_medwatch_pdf(complaint_id: int):
    row = get_or_404(Complaint, complaint_id, "complaint")
    pdf = render_medwatch(svc.medwatch(db.session, row))
    return Response(pdf, mimetype="application/pdf")
