"""Reports a manager reads at a glance: charts on the page, the same report as PDF and CSV."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup
from sqlalchemy import select

from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import PharmacyProfile
from ..reporting import charts_for, report_csv, report_pdf, svg
from ..services import reports as svc

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _report():
    since, until = svc.parse_range(
        request.args.get("since"), request.args.get("until"), date.today()
    )
    return svc.build(db.session, since, until, date.today())


@bp.route("/")
def index():
    errors = {}
    report = None
    try:
        report = _report()
    except ValidationFailed as exc:
        errors = {e.field: e.message for e in exc.errors}
    charts = [(c, Markup(svg(c))) for c in charts_for(report)] if report else []
    return render_template(
        "reports/index.html", report=report, charts=charts, errors=errors, args=request.args
    ), (422 if errors else 200)


def _name(r) -> str:
    return f"report-{r.since.isoformat()}-to-{r.until.isoformat()}"


@bp.route("/report.pdf")
def pdf():
    r = _report()
    profile = db.session.scalar(select(PharmacyProfile).limit(1))
    body = report_pdf(r, profile.name if profile else "Pharmacy")
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{_name(r)}.pdf"'},
    )


@bp.route("/report.csv")
def csv():
    r = _report()
    return Response(
        report_csv(r),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_name(r)}.csv"'},
    )
