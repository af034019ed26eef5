"""The inspector's export from the browser: the same zip as `flask export`, audited."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from ..database import unit_of_work
from ..services import audit, backup

bp = Blueprint("records", __name__, url_prefix="/records")


@bp.route("/export", methods=["GET", "POST"])
def export():
    if request.method == "GET":
        return render_template("records/export.html", errors={}, form={})
    try:
        since = backup.parse_since(request.form.get("since", "").strip())
    except ValueError:
        errors = {"since": "is not a date (use YYYY-MM-DD)"}
        return render_template("records/export.html", errors=errors, form=request.form), 422
    with unit_of_work() as s:
        data, counts = backup.export_records(s, since)
        audit.record(
            s,
            current_user,
            "records.export",
            "export",
            None,
            None,
            {"rows": counts, "since": since.isoformat() if since else None},
            ip=request.remote_addr,
        )
    name = f"pharmacy-records-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.zip"
    resp = Response(data, mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp
