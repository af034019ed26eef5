from datetime import date

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from .. import access
from ..extensions import db
from ..services import dashboard
from ..services.first_day import checklist

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    tiles = dashboard.tiles_for(
        db.session,
        current_user.roles,
        date.today(),
        int(current_app.config.get("EXPIRY_WARNING_DAYS", 60)),
    )
    first_day = None
    if current_user.roles & {"pharmacist", "admin"}:
        first_day = checklist(db.session, date.today())
    allowed = {
        s.endpoint
        for s in first_day or ()
        if access.allows(access.POLICY.get(s.endpoint), current_user.roles)
    }
    return render_template("index.html", tiles=tiles, first_day=first_day, allowed=allowed)


@bp.route("/health")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
