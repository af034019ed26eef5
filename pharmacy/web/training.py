"""Training and competency: who is trained for what, and recording a completed training."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..database import unit_of_work
from ..domain import training as rules
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..services import training as service

bp = Blueprint("training", __name__, url_prefix="/training")


def _page(errors=None, status=200):
    return render_template(
        "training/index.html",
        people=service.overview(db.session),
        tasks=rules.TASKS,
        errors=errors or {},
        form=request.form,
    ), status


@bp.route("/")
def index():
    return _page()


@bp.route("/", methods=["POST"])
def record():
    f = request.form
    inp = service.TrainingInput(
        user_id=f.get("user_id"),
        task=f.get("task", ""),
        kind=f.get("kind", ""),
        completed_on=f.get("completed_on"),
        notes=f.get("notes", ""),
    )
    try:
        with unit_of_work() as s:
            row = service.record(s, current_user, inp)
            until = row.valid_until
    except ValidationFailed as exc:
        return _page({e.field: e.message for e in exc.errors}, 422)
    flash(f"Training recorded; current until {until.isoformat()}.", "success")
    return redirect(url_for("training.index"))
