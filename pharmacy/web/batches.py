"""Batches (compounding records): list, start, weights, QC, release/reject, dispense, recall."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..database import dry_run, reads_deferred, unit_of_work
from ..domain import filling
from ..domain.errors import DomainError, FieldError, ValidationFailed
from ..domain.weighing import LIQUID_VOLUME_TOLERANCE, potency_out_of_range
from ..extensions import db
from ..models import Balance, Batch, Ingredient, IngredientLot, Order
from ..models.batches import BATCH_STATUSES
from ..services import audit, balance_capture, scanning
from ..services import batches as service
from ..services import formulas as formula_service
from .batch_forms import (
    DispenseForm,
    NoteForm,
    QcCorrectionForm,
    QcForm,
    ReleaseForm,
    StartForm,
    parse_weights,
    weights_form_class,
)
from .exports import csv_safe, safe_filename
from .forms import apply_errors, note_refusal, sign_off, validate_all
from .reads import audit_read

bp = Blueprint("batches", __name__, url_prefix="/batches")

ROLE_LABELS = {
    "active": "active (API)",
    "diluent": "aliquot: diluent for the stock",
    "aliquot": "aliquot taken from the stock",
    "capsule_shell": "capsule shell",
}


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role.replace("_", " "))


def _batch(batch_id: int) -> Batch:
    return db.session.get(Batch, batch_id) or abort(404)


def _balance_choices() -> list[tuple[int, str]]:
    rows = db.session.scalars(
        select(Balance).where(Balance.active.is_(True)).order_by(Balance.name)
    ).all()
    today = date.today()
    return [(0, "—")] + [
        (
            b.id,
            f"{b.name} (calibration due {b.calibration_due.isoformat()}"
            + (", OVERDUE)" if b.calibration_due < today else ")"),
        )
        for b in rows
    ]


def _lot_label(lot: IngredientLot) -> str:
    return (
        f"{lot.ingredient.name} — lot {lot.lot_number} — exp {lot.expires_on.isoformat()}"
        f" ({lot.status})"
    )


def _order_label(o: Order) -> str:
    rx = o.prescription
    return (
        f"{o.number} — {rx.patient.full_name} — {rx.strength_text} ({rx.strength_basis}) × "
        f"{o.quantity} {o.quantity_unit} [{o.status.replace('_', ' ')}]"
    )


def _start_choices(form: StartForm) -> None:
    form.formula_id.choices = [(0, "—")] + [
        (f.id, f"{f.code} v{f.version} — {f.name}")
        for f in formula_service.approved_formulas(db.session)
    ]
    form.balance_id.choices = _balance_choices()
    orders = db.session.scalars(
        select(Order)
        .where(Order.status.in_(service.START_ORDER_STATUSES))
        .order_by(Order.id)
        .limit(200)
    ).all()
    form.order_ids.choices = [(o.id, _order_label(o)) for o in orders]
    # Every lot is listed with its status: choosing an unusable one is refused with the reason.
    lots = db.session.scalars(
        select(IngredientLot)
        .order_by(IngredientLot.ingredient_id, IngredientLot.expires_on)
        .limit(500)
    ).all()
    form.override_lot_ids.choices = [(lot.id, _lot_label(lot)) for lot in lots]


@bp.route("/")
def index():
    status = request.args.get("status") or None
    if status not in (None, *BATCH_STATUSES):
        status = None
    rows = service.list_batches(db.session, status)
    return render_template(
        "batches/index.html", batches=rows, status=status, statuses=BATCH_STATUSES
    )


def _rules_only(write):
    """The use case on what the form could parse, rolled back: its field errors join the
    form's own on the first submit. A state problem (not a field's) waits for the real submit."""

    def check() -> None:
        try:
            with dry_run() as s:
                write(s)
        except ValidationFailed:
            raise
        except (
            DomainError,
            SQLAlchemyError,
            LookupError,
            ArithmeticError,
            TypeError,
            ValueError,
            AttributeError,
        ):
            pass  # a value the form could not read: its own error already says so

    return check


def _failed_status(form) -> int:
    # Field problems (the form's and the rules' together) are 422; a stale CSRF token 400.
    return 400 if "csrf_token" in form.errors else 422


def _start_input(form: StartForm) -> service.StartInput:
    return service.StartInput(
        formula_id=form.formula_id.data or None,
        balance_id=form.balance_id.data or None,
        strength_mg=form.strength_mg.data,
        strength_basis=form.strength_basis.data,
        quantity=form.quantity.data,
        order_ids=tuple(form.order_ids.data or ()),
        override_lot_ids=tuple(form.override_lot_ids.data or ()),
        override_reason=form.override_reason.data or "",
        potency_acceptance=form.potency_acceptance.data or "",
        allergy_override=form.allergy_override.data or "",
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = StartForm()
    _start_choices(form)
    status = 200
    if request.method == "GET":
        form.order_ids.data = [int(i) for i in request.args.getlist("order_id") if i.isdigit()]
        # From a titration order's page: the step strength and the units it still needs.
        for name in ("strength_mg", "quantity"):
            try:
                value = Decimal(request.args.get(name, "")[:12])
            except InvalidOperation:
                continue
            if value.is_finite() and value > 0:
                getattr(form, name).data = value
        form.formula_id.data = request.args.get("formula_id", 0, type=int) or (
            formula_service.formula_for_orders(db.session, form.order_ids.data) or 0
        )  # pre-filled from the prescription
        balances = [c for c in form.balance_id.choices if c[0] and "OVERDUE" not in c[1]]
        form.balance_id.data = balances[0][0] if balances else 0
    elif validate_all(
        form, _rules_only(lambda s: service.start_batch(s, current_user, _start_input(form)))
    ):
        try:
            with unit_of_work() as s:
                batch = service.start_batch(s, current_user, _start_input(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(
                f"Batch {batch.batch_number} started. Weigh and record each ingredient.", "success"
            )
            return redirect(url_for("batches.show", batch_id=batch.id))
    else:
        status = _failed_status(form)
    return render_template("batches/new.html", form=form), status


@bp.route("/<int:batch_id>")
def show(batch_id: int):
    return _show(_batch(batch_id))


def _show(batch, status: int = 200, release_form: ReleaseForm | None = None):
    trace = service.trace_batch(db.session, batch, limit=500)
    return render_template(
        "batches/show.html",
        batch=batch,
        calc=batch.calculation,
        trace=trace,
        note_form=NoteForm(),
        release_form=release_form or ReleaseForm(),
        correction_form=QcCorrectionForm(),
        tolerance=service.tolerance_of(batch),
        api_tolerance=service.api_tolerance_of(batch),
        held=service.unsigned_api_deviations(batch),
        output=service.planned_output(batch),
        deviation=service.deviation_percent,
        role_label=role_label,
        today=date.today(),
    ), status


def _weight_entry(form, u) -> service.WeightEntry:
    balance_id = getattr(form, f"balance_{u.id}").data if hasattr(form, f"balance_{u.id}") else None
    actual = getattr(form, f"actual_{u.id}").data
    token = getattr(form, f"capture_{u.id}").data if hasattr(form, f"capture_{u.id}") else None
    return service.WeightEntry(
        usage_id=u.id,
        actual=actual,
        balance_id=balance_id,
        deviation_reason=getattr(form, f"reason_{u.id}").data or "",
        scan=getattr(form, f"scan_{u.id}").data or "",
        captured=balance_capture.verify_capture(token, u.id, balance_id, actual),
    )


def _line(batch: Batch, usage_id: int):
    return next((u for u in batch.lot_usages if u.id == usage_id), None) or abort(404)


@bp.route("/<int:batch_id>/lines/<int:usage_id>/read-balance", methods=["POST"])
def read_balance(batch_id: int, usage_id: int):
    """The weights page's "Read balance": a stable weight from the chosen balance (JSON)."""
    batch = _batch(batch_id)
    usage = _line(batch, usage_id)
    balance = db.session.get(Balance, request.form.get("balance_id", 0, type=int) or 0)
    if balance is None or not balance.active:
        return {"errors": [{"field": f"balance_{usage.id}", "message": "choose the balance"}]}, 422
    try:
        got = balance_capture.capture_for_line(usage, balance)
    except ValidationFailed as exc:
        return {"errors": [e.as_dict() for e in exc.errors]}, 422
    return {"value": f"{got.value:f}", "unit": got.unit, "token": got.token}


@bp.route("/<int:batch_id>/lines/<int:usage_id>/scan-check", methods=["POST"])
def scan_check(batch_id: int, usage_id: int):
    """Check a scanned container against the line at once (the form checks it again on save)."""
    usage = _line(_batch(batch_id), usage_id)
    try:
        scanning.check_container(usage, request.form.get("code", ""))
    except ValidationFailed as exc:
        return {"errors": [e.as_dict() for e in exc.errors]}, 422
    return {
        "ok": True,
        "message": f"{usage.lot.ingredient.name}, lot {usage.lot.lot_number}: the right container",
    }


def _entries(form, batch: Batch) -> list[service.WeightEntry]:
    return [_weight_entry(form, u) for u in batch.lot_usages]


@bp.route("/<int:batch_id>/weights", methods=["GET", "POST"])
def weights(batch_id: int):
    batch = _batch(batch_id)
    form = weights_form_class(batch, _balance_choices())()
    status = 200
    if request.method == "GET":
        for u in batch.lot_usages:
            getattr(form, f"actual_{u.id}").data = u.actual_quantity
            getattr(form, f"reason_{u.id}").data = u.deviation_reason
            if hasattr(form, f"balance_{u.id}"):
                getattr(form, f"balance_{u.id}").data = u.balance_id or batch.balance_id or 0
    elif validate_all(
        form,
        _rules_only(
            lambda s: service.record_weights(s, current_user, batch, _entries(form, batch))
        ),
    ):
        try:
            with unit_of_work() as s:
                service.record_weights(s, current_user, batch, _entries(form, batch))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash("Actual quantities recorded.", "success")
            return redirect(url_for("batches.show", batch_id=batch.id))
    else:
        status = _failed_status(form)
    return render_template(
        "batches/weights.html",
        batch=batch,
        form=form,
        tolerance=service.tolerance_of(batch),
        api_tolerance=service.api_tolerance_of(batch),
        role_label=role_label,
    ), status


def _qc_input(form: QcForm, weights: tuple) -> service.QcInput:
    return service.QcInput(
        appearance=form.appearance.data or "",
        appearance_ok=bool(form.appearance_ok.data),
        units_made=form.units_made.data,
        gross_weights_mg=weights,
        shell_mg=form.shell_mg.data,
        final_volume_ml=form.final_volume_ml.data,
        notes=form.notes.data or "",
    )


def _qc_check(form: QcForm, batch: Batch) -> None:
    """The QC rules on what could be read; unreadable weights are reported with them."""
    errors: list[FieldError] = []
    try:
        weights = parse_weights(form.weights.data)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        weights = ()
    try:
        _rules_only(lambda s: service.record_qc(s, current_user, batch, _qc_input(form, weights)))()
    except ValidationFailed as exc:
        errors.extend(e for e in exc.errors if not (weights == () and e.field == "weights"))
    if errors:
        raise ValidationFailed(errors)


@bp.route("/<int:batch_id>/qc", methods=["GET", "POST"])
def qc(batch_id: int):
    batch = _batch(batch_id)
    form = QcForm()
    status = 200
    if request.method == "POST":
        if validate_all(form, lambda: _qc_check(form, batch)):
            try:
                try:
                    qc_input = _qc_input(form, parse_weights(form.weights.data))
                except ValidationFailed:
                    _qc_check(form, batch)  # an unreadable weight must not hide the rest
                    raise
                with unit_of_work() as s:
                    result = service.record_qc(s, current_user, batch, qc_input)
            except ValidationFailed as exc:
                apply_errors(form, exc)
                status = 422
            else:
                if result.passed:
                    flash(
                        "Quality check passed: the batch awaits a pharmacist's release.", "success"
                    )
                else:
                    flash(
                        "Quality check FAILED: correct a mistyped figure (with the reason) or "
                        "reject the batch.",
                        "error",
                    )
                return redirect(url_for("batches.show", batch_id=batch.id))
        else:
            status = _failed_status(form)
    elif batch.units_made is None:
        form.units_made.data = batch.units_planned
    return render_template(
        "batches/qc.html",
        batch=batch,
        form=form,
        kind=batch.calculation["request"]["kind"],
        sample=service.sample_size(batch, form.units_made.data or batch.units_planned),
        result=batch.calculation["result"],
        output=service.planned_output(batch),
        tolerance=service.tolerance_of(batch),
        volume_tolerance=LIQUID_VOLUME_TOLERANCE,
    ), status


@bp.route("/<int:batch_id>/api-sign-off", methods=["POST"])
def api_sign_off(batch_id: int):
    batch = _batch(batch_id)
    form = NoteForm()
    form.validate_on_submit()
    try:
        with unit_of_work() as s:
            service.sign_off_api_weight(s, current_user, batch, form.reason.data or "")
    except ValidationFailed as exc:
        flash("; ".join(e.message for e in exc.errors), "error")
    else:
        flash(
            f"API weight signed off; the plan is recalculated: {batch.units_planned} "
            f"{batch.unit} planned. Re-check the other weights against the new plan.",
            "success",
        )
    return redirect(url_for("batches.show", batch_id=batch.id))


@bp.route("/<int:batch_id>/qc/correct", methods=["POST"])
def qc_correct(batch_id: int):
    batch = _batch(batch_id)
    form = QcCorrectionForm()
    if not form.validate_on_submit():
        flash("; ".join(m for ms in form.errors.values() for m in ms), "error")
        return redirect(url_for("batches.show", batch_id=batch.id))
    fix = service.QcCorrection(
        what=form.what.data,
        number=form.number.data,
        value=form.value.data,
        reason=form.reason.data or "",
    )
    try:
        with unit_of_work() as s:
            result = service.correct_qc(s, current_user, batch, fix)
    except ValidationFailed as exc:
        flash("; ".join(f"{e.field}: {e.message}" for e in exc.errors), "error")
    else:
        flash(
            "Correction recorded; the quality check now "
            + ("passes: the batch awaits a pharmacist's release." if result.passed else "fails."),
            "success" if result.passed else "error",
        )
    return redirect(url_for("batches.show", batch_id=batch.id))


@bp.route("/<int:batch_id>/release", methods=["POST"])
def release(batch_id: int):
    batch = _batch(batch_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _show(batch, 400, form)
    try:
        with unit_of_work() as s:
            service.release(
                s, current_user, batch, form.reason.data or "", sign=sign_off(form.password.data)
            )
    except ValidationFailed as exc:
        note_refusal(exc)
        apply_errors(form, exc)
        return _show(_batch(batch_id), 422, form)
    flash(
        f"Batch {batch.batch_number} released: {batch.units_remaining} {batch.unit} "
        "available to fill orders.",
        "success",
    )
    return redirect(url_for("batches.show", batch_id=batch.id))


@bp.route("/<int:batch_id>/reject", methods=["POST"])
def reject(batch_id: int):
    batch = _batch(batch_id)
    form = NoteForm()
    form.validate_on_submit()
    with unit_of_work() as s:
        service.reject(s, current_user, batch, form.reason.data or "")
    flash(f"Batch {batch.batch_number} rejected (kept on record).", "warning")
    return redirect(url_for("batches.show", batch_id=batch.id))


@bp.route("/<int:batch_id>/recall", methods=["POST"])
def recall(batch_id: int):
    batch = _batch(batch_id)
    form = NoteForm()
    form.validate_on_submit()
    with unit_of_work() as s:
        held = service.recall(s, current_user, batch, form.reason.data or "")
    flash(
        f"Batch {batch.batch_number} recalled; {len(held)} open order(s) put on hold. "
        "Contact the patients listed below.",
        "warning",
    )
    return redirect(url_for("batches.show", batch_id=batch.id))


def _fill(s, form: DispenseForm, batch: Batch):
    return service.dispense(
        s,
        current_user,
        batch.id,
        form.order_id.data or None,
        form.quantity.data,
        bud_short_reason=form.bud_short_reason.data or "",
    )


@bp.route("/<int:batch_id>/dispense", methods=["GET", "POST"])
def dispense(batch_id: int):
    batch = _batch(batch_id)
    form = DispenseForm()
    orders = service.fillable_orders(db.session, batch)
    form.order_id.choices = [(0, "—")] + [(o.id, _order_label(o)) for o in orders]
    status = 200
    if request.method == "GET":
        form.order_id.data = request.args.get("order_id", 0, type=int)
    elif validate_all(form, _rules_only(lambda s: _fill(s, form, batch))):
        try:
            with unit_of_work() as s:
                row = _fill(s, form, batch)
                number = row.order.number
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(
                f"{row.quantity} {row.unit} from batch {batch.batch_number} went to order "
                f"{number}.",
                "success",
            )
            return redirect(url_for("batches.show", batch_id=batch.id))
    else:
        status = _failed_status(form)
    outstanding = {o.id: service.outstanding(db.session, o, batch.strength_mg) for o in orders}
    days = {o.id: service.days_supply(o, batch) for o in orders}
    short = {
        i: not filling.bud_covers(batch.beyond_use_date, date.today(), d) for i, d in days.items()
    }
    return render_template(
        "batches/dispense.html",
        batch=batch,
        form=form,
        orders=orders,
        outstanding=outstanding,
        days=days,
        bud_short=short,
    ), status


@bp.route("/<int:batch_id>/fill-all", methods=["POST"])
def fill_all(batch_id: int):
    """One button: every open matching order the batch can cover, filled in one transaction."""
    batch = _batch(batch_id)
    NoteForm().validate_on_submit()
    try:
        with unit_of_work() as s:
            filled, skipped = service.fill_all(s, current_user, batch.id)
            done = [f"{row.order.number} ({row.quantity} {row.unit})" for row in filled]
            left = [f"{k.order.number}: {k.reason}" for k in skipped]
    except ValidationFailed as exc:
        flash("; ".join(e.message for e in exc.errors), "error")
    else:
        flash(f"Filled {len(done)} order(s): {', '.join(done)}.", "success")
        if left:
            flash("Not filled: " + "; ".join(left), "warning")
    return redirect(url_for("batches.show", batch_id=batch.id))


def _lot_choices() -> list[tuple[int, str]]:
    """The lot picker: plain rows rendered by a plain loop in the template (as WTForms options
    with ORM lots, a thousand lots cost more than the whole trace)."""
    rows = db.session.execute(
        select(
            IngredientLot.id,
            Ingredient.name,
            IngredientLot.lot_number,
            IngredientLot.expires_on,
            IngredientLot.status,
        )
        .join(Ingredient, Ingredient.id == IngredientLot.ingredient_id)
        .order_by(IngredientLot.ingredient_id, IngredientLot.lot_number)
        .limit(1000)
    ).all()
    return [
        (i, f"{name} — lot {number} — exp {expires.isoformat()} ({status})")
        for i, name, number, expires, status in rows
    ]


@bp.route("/trace")
def trace():
    """The lot picker, or the trace of one lot. The trace reads what the API reads and no
    more: the picker over every lot is on the page without a lot (linked from the trace)."""
    lot_id = request.args.get("lot_id", 0, type=int)
    lot = db.session.get(IngredientLot, lot_id) if lot_id else None
    if lot is None:
        return render_template("batches/trace.html", lot=None, trace=None, lots=_lot_choices())
    page = request.args.get("page", 1, type=int)
    batch_page = request.args.get("batch_page", 1, type=int)
    try:
        result = service.trace_lot(db.session, lot.id, page=page, batch_page=batch_page)
    except ValidationFailed as exc:
        abort(400, exc.errors[0].message)
    html = render_template("batches/trace.html", lot=lot, trace=result, note_form=NoteForm())
    audit_read(
        "patient_data.read",
        "lot_trace",
        lot.id,
        {"page": "recall trace", "recipients": len(result.recipients), "trace_page": page},
    )
    return html


@bp.route("/trace.csv")
def trace_csv():
    lot_id = request.args.get("lot_id", 0, type=int)
    batch_id = request.args.get("batch_id", 0, type=int)
    if lot_id:
        lot = db.session.get(IngredientLot, lot_id) or abort(404)
        name, source = f"lot-{lot.lot_number}", {"lot_id": lot.id}
        total = service.trace_lot(db.session, lot.id).total_recipients
    elif batch_id:
        batch = _batch(batch_id)
        name, source = f"batch-{batch.batch_number}", {"batch_id": batch.id}
        total = service.trace_batch(db.session, batch).total_recipients
    else:
        abort(400, "Give lot_id or batch_id.")
    filename = safe_filename(f"recall-{name}.csv")
    audit_read(
        "patient_data.export",
        "lot_trace" if lot_id else "batch_trace",
        lot_id or batch_id,
        {"export": filename, "recipients": total},
    )
    session = db.session()  # the request's session, held for the whole stream

    def rows():
        # Streamed: every recipient of a large lot, without building the file in memory. The
        # generator runs after the view returned: its read must not take SQLite's write lock.
        reads_deferred(True)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=service.CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        try:
            for i, row in enumerate(service.iter_recipients(session, **source)):
                writer.writerow({k: csv_safe(v) for k, v in audit._plain(row).items()})
                if i % 500 == 499:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        finally:
            session.rollback()  # end the read now, not when the response object goes away
        yield out.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.app_template_global("api_potency")
def api_potency(lot: IngredientLot) -> dict:
    """The lot's potency on the anhydrous basis and whether it still needs an acceptance."""
    percent = service.lot_potency(lot)
    return {
        "percent": percent,
        "out_of_range": potency_out_of_range(percent),
        "needs_acceptance": service.needs_acceptance(lot),
    }


@bp.route("/lots/<int:lot_id>/accept-potency", methods=["POST"])
def accept_lot_potency(lot_id: int):
    """A pharmacist documents, e.g. at lot release, why a potency outside 98-102 % is fine."""
    lot = db.session.get(IngredientLot, lot_id) or abort(404)
    form = NoteForm()
    form.validate_on_submit()
    try:
        with unit_of_work() as s:
            service.accept_potency(s, current_user, lot, form.reason.data or "")
    except ValidationFailed as exc:
        flash("; ".join(e.message for e in exc.errors), "error")
    else:
        flash(f"Potency of lot {lot.lot_number} accepted for use.", "success")
    return redirect(url_for("inventory.lot", lot_id=lot.id))


@bp.route("/trace/lot/<int:lot_id>/recall", methods=["POST"])
def recall_lot(lot_id: int):
    lot = db.session.get(IngredientLot, lot_id) or abort(404)
    form = NoteForm()
    form.validate_on_submit()
    with unit_of_work() as s:
        recalled = service.recall_lot_batches(s, current_user, lot.id, form.reason.data or "")
    flash(f"{len(recalled)} released batch(es) made with lot {lot.lot_number} recalled.", "warning")
    return redirect(url_for("batches.trace", lot_id=lot.id))
