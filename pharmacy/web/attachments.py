"""Attached documents: upload and view the original prescription and a lot's certificate of
analysis. Who may do which is decided by pharmacy/access.py, one endpoint per owner and kind."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Attachment, IngredientLot, Prescription
from ..services import attachments as service

bp = Blueprint("attachments", __name__)


def _root() -> Path:
    return Path(current_app.config["ATTACHMENTS_DIR"])


def _max_bytes() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


UPLOAD_ENDPOINTS = ("attachments.prescription_upload", "attachments.lot_upload")


def allow_attachment_size() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        # Room for the form fields around the file; the service then applies the exact limit.
        request.max_content_length = _max_bytes() + 64 * 1024


def _upload() -> service.Upload:
    file = request.files.get("file")
    return service.Upload(
        filename=file.filename if file else "",
        content=file.read() if file else b"",
        note=request.form.get("note", ""),
    )


def _store(attach, owner, back: str, render_owner):
    try:
        upload = _upload()
        with unit_of_work() as s:
            row = attach(s, current_user, owner, upload, _root(), _max_bytes())
    except ValidationFailed as exc:
        # The owner's page again, with the message next to the upload's field (read by
        # attachments/_section.html).
        g.attachment_errors = {e.field: e.message for e in exc.errors}
        return render_owner(owner)
    flash(f"{row.filename} attached as version {row.version}.", "success")
    return redirect(back + "#attachments")


def _send(row: Attachment) -> Response:
    try:
        with unit_of_work() as s:
            content = service.open_for_view(s, current_user, row, _root())
    except service.AttachmentMissing as exc:
        current_app.logger.error("attachment integrity: %s", exc)
        abort(410, "The stored file is missing or was changed; tell the pharmacist in charge.")
    disposition = "attachment" if request.args.get("download") else "inline"
    resp = Response(content, mimetype=row.content_type)
    resp.headers["Content-Disposition"] = f'{disposition}; filename="{service.download_name(row)}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route("/prescriptions/<int:rx_id>/attachments", methods=["POST"])
def prescription_upload(rx_id: int):
    rx = db.session.get(Prescription, rx_id) or abort(404)
    from .prescriptions import _show

    return _store(
        service.attach_original_prescription,
        rx,
        url_for("prescriptions.show", rx_id=rx.id),
        lambda owner: _show(owner, 422),
    )


@bp.route("/prescriptions/<int:rx_id>/attachments/<int:attachment_id>")
def prescription_file(rx_id: int, attachment_id: int):
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.prescription_id != rx_id:
        abort(404)
    return _send(row)


@bp.route("/inventory/lots/<int:lot_id>/attachments", methods=["POST"])
def lot_upload(lot_id: int):
    lot = db.session.get(IngredientLot, lot_id) or abort(404)
    from .inventory import _render_lot

    return _store(
        service.attach_certificate,
        lot,
        url_for("inventory.lot", lot_id=lot.id),
        lambda owner: _render_lot(owner, status=422),
    )


@bp.route("/inventory/lots/<int:lot_id>/attachments/<int:attachment_id>")
def lot_file(lot_id: int, attachment_id: int):
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.lot_id != lot_id:
        abort(404)
    return _send(row)


@bp.app_template_global()
def attachments_of(owner: str, owner_id: int) -> list[Attachment]:
    """The attachments listed on a prescription's or a lot's page, newest version first."""
    if owner == "prescription":
        return service.for_prescription(db.session, owner_id)
    return service.for_lot(db.session, owner_id)
