from datetime import date

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db
from ..services import dashboard

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    tiles = dashboard.tiles_for(
        db.session,
        current_user.roles,
        date.today(),
        int(current_app.config.get("EXPIRY_WARNING_DAYS", 60)),
    )
    return render_template("index.html", tiles=tiles)


@bp.route("/health")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
