"""Attachments: the original prescription on the prescription, the certificate of analysis on
the lot; stored outside the database by checksum, type checked by content, versions kept,
every upload and view audited, seen only by the roles that may."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from pharmacy.models import Attachment, AuditEvent, Prescription
from pharmacy.services.attachments import sniff
from tests.batch_helpers import make_order, seed
from tests.support import form_error

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
TIFF = b"II*\x00" + b"\x00" * 32


def test_type_is_decided_by_the_content():
    assert sniff(PDF) == "application/pdf"
    assert sniff(PNG) == "image/png"
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(TIFF) == "image/tiff"
    assert sniff(b"MM\x00*rest") == "image/tiff"
    assert sniff(b"MZ\x90\x00 an executable") is None
    assert sniff(b"<html>") is None


@pytest.fixture
def rx_id(app, pharmacy):
    seed(app)
    make_order(app)
    with app.app_context():
        from pharmacy.extensions import db

        return db.session.scalar(select(Prescription.id).order_by(Prescription.id.desc()))


def _lot_id(app) -> int:
    return next(iter(seed(app)["lots"].values()))


def _post(client, url, content, name="scan.pdf", note=""):
    return client.post(
        url,
        data={"file": (io.BytesIO(content), name), "note": note},
        content_type="multipart/form-data",
    )


def _rows(app):
    with app.app_context():
        from pharmacy.extensions import db

        return list(db.session.scalars(select(Attachment).order_by(Attachment.id)))


def _audit(app, action):
    with app.app_context():
        from pharmacy.extensions import db

        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_original_prescription_is_stored_by_checksum_and_replaced_by_a_new_version(
    app, as_role, rx_id
):
    staff = as_role("staff")
    resp = _post(staff, f"/prescriptions/{rx_id}/attachments", PDF, "fax 0412.pdf", "faxed")
    assert resp.status_code == 302
    second = PDF + b"% rescan\n"
    assert (
        _post(staff, f"/prescriptions/{rx_id}/attachments", second, "rescan.pdf").status_code == 302
    )

    rows = _rows(app)
    assert [(r.version, r.filename, r.kind) for r in rows] == [
        (1, "fax 0412.pdf", "original_prescription"),
        (2, "rescan.pdf", "original_prescription"),
    ]
    first = rows[0]
    assert first.sha256 == hashlib.sha256(PDF).hexdigest()
    assert first.size_bytes == len(PDF)
    assert first.content_type == "application/pdf"
    assert first.note == "faxed"
    root = Path(app.config["ATTACHMENTS_DIR"])
    # Both versions stay on disk, outside the database, named by their checksum.
    assert (root / first.sha256[:2] / first.sha256).read_bytes() == PDF
    assert (root / rows[1].sha256[:2] / rows[1].sha256).read_bytes() == second
    uploads = _audit(app, "attachment.upload")
    assert [e.new["version"] for e in uploads] == [1, 2]
    assert uploads[0].actor == "staff"

    page = staff.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert "fax 0412.pdf" in page and "rescan.pdf" in page and "v2" in page


def test_view_and_download_return_the_bytes_and_are_audited(app, as_role, rx_id):
    staff = as_role("staff")
    _post(staff, f"/prescriptions/{rx_id}/attachments", PNG, "rx.png")
    att = _rows(app)[0]
    resp = staff.get(f"/prescriptions/{rx_id}/attachments/{att.id}")
    assert resp.status_code == 200
    assert resp.data == PNG
    assert resp.mimetype == "image/png"
    assert resp.headers["Content-Disposition"] == 'inline; filename="rx.v1.png"'
    down = staff.get(f"/prescriptions/{rx_id}/attachments/{att.id}?download=1")
    assert down.headers["Content-Disposition"].startswith("attachment;")
    views = _audit(app, "attachment.view")
    assert len(views) == 2 and views[0].entity_id == str(att.id) and views[0].actor == "staff"


def test_a_file_that_is_not_what_it_claims_is_refused_by_the_field(app, as_role, rx_id):
    staff = as_role("staff")
    resp = _post(staff, f"/prescriptions/{rx_id}/attachments", b"MZ\x90\x00binary", "scan.pdf")
    assert resp.status_code == 422
    assert "is not a PDF, PNG, JPEG or TIFF file" in form_error(resp, "file")
    empty = _post(staff, f"/prescriptions/{rx_id}/attachments", b"", "scan.pdf")
    assert empty.status_code == 422 and "empty" in form_error(empty, "file")
    assert _rows(app) == []
    assert not Path(app.config["ATTACHMENTS_DIR"]).exists() or not any(
        Path(app.config["ATTACHMENTS_DIR"]).rglob("*")
    )


def test_size_limit(app, as_role, rx_id):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    staff = as_role("staff")
    resp = _post(staff, f"/prescriptions/{rx_id}/attachments", PDF + b"0" * 2000)
    assert resp.status_code == 422
    assert "the limit is" in form_error(resp, "file")
    assert _rows(app) == []


def test_an_upload_larger_than_the_form_limit_but_within_the_attachment_limit(app, as_role, rx_id):
    big = PDF + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    staff = as_role("staff")
    assert _post(staff, f"/prescriptions/{rx_id}/attachments", big).status_code == 302
    assert _rows(app)[0].size_bytes == len(big)


def test_certificate_of_analysis_on_the_lot_and_who_may_see_it(app, as_role, pharmacy):
    lot_id = _lot_id(app)
    tech = as_role("technician")
    assert _post(tech, f"/inventory/lots/{lot_id}/attachments", JPEG, "coa.jpg").status_code == 302
    att = _rows(app)[0]
    assert (att.kind, att.lot_id, att.prescription_id) == ("certificate_of_analysis", lot_id, None)
    assert "coa.jpg" in tech.get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    assert as_role("pharmacist").get(f"/inventory/lots/{lot_id}/attachments/{att.id}").data == JPEG
    # The front desk and the administrator do not see certificates of analysis.
    assert as_role("staff").get(f"/inventory/lots/{lot_id}/attachments/{att.id}").status_code == 403
    assert as_role("admin").get(f"/inventory/lots/{lot_id}/attachments/{att.id}").status_code == 403
    assert as_role("staff").post(f"/inventory/lots/{lot_id}/attachments").status_code == 403
    # An attachment is only reached through its own owner.
    assert tech.get(f"/inventory/lots/{lot_id + 999}/attachments/{att.id}").status_code == 404
    assert tech.get(f"/prescriptions/1/attachments/{att.id}").status_code == 404


def test_a_file_changed_on_disk_is_not_served(app, as_role, rx_id):
    staff = as_role("staff")
    _post(staff, f"/prescriptions/{rx_id}/attachments", PDF)
    att = _rows(app)[0]
    path = Path(app.config["ATTACHMENTS_DIR"]) / att.sha256[:2] / att.sha256
    path.chmod(0o600)
    path.write_bytes(PDF + b"tampered")
    assert staff.get(f"/prescriptions/{rx_id}/attachments/{att.id}").status_code == 410
    assert _audit(app, "attachment.view") == []
