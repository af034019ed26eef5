from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    return render_template("index.html")


@bp.route("/health")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
