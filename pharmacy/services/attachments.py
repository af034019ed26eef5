"""Attached documents: the original prescription and a lot's certificate of analysis.

The bytes are stored outside the database under ATTACHMENTS_DIR, named by their SHA-256, and
written once (never overwritten); the type is decided by the content's magic bytes, never by
the file name. Every upload and every view is written to the audit trail. Who may upload or
view is decided by pharmacy/access.py (the routes); this module keeps the records straight.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationFailed
from ..models import Attachment, IngredientLot, Prescription, User
from . import audit

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
TYPE_NAMES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
}
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
}


class AttachmentMissing(Exception):
    """The stored file is gone or no longer matches its checksum."""


def sniff(content: bytes) -> str | None:
    """The type a file really is, from its first bytes; None when it is none we accept."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    return None


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    note: str = ""


def _clean_name(filename: str) -> str:
    # Only for display and the download name: the stored file is named by its checksum.
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')
    return name[:200] or "attachment"


def validate(upload: Upload, max_bytes: int) -> str:
    """The content type of a valid upload; a ValidationFailed naming the `file` field if not."""
    size = len(upload.content)
    if size == 0:
        raise ValidationFailed.single("file", "choose a file to upload (this one is empty)")
    if size > max_bytes:
        raise ValidationFailed.single(
            "file",
            f"is {size / 1048576:.1f} MB; the limit is {max_bytes / 1048576:.1f} MB",
        )
    content_type = sniff(upload.content)
    if content_type is None:
        raise ValidationFailed.single(
            "file", "is not a PDF, PNG, JPEG or TIFF file (checked by its content, not its name)"
        )
    if len(upload.note or "") > 200:
        raise ValidationFailed.single("note", "is longer than 200 characters")
    return content_type


def path_for(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def _write_once(root: Path, sha256: str, content: bytes) -> None:
    """Store the bytes under their checksum. The same content uploaded again is the same file,
    so an existing one is kept (after checking it still matches), never rewritten."""
    target = path_for(root, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
            return
        raise AttachmentMissing(f"stored file {sha256} no longer matches its checksum")
    tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def _next_version(session: Session, owner: dict, kind: str) -> int:
    stmt = select(func.max(Attachment.version)).where(Attachment.kind == kind)
    for column, value in owner.items():
        stmt = stmt.where(getattr(Attachment, column) == value)
    return (session.scalar(stmt) or 0) + 1


def _attach(
    session: Session, actor: User, root: Path, max_bytes: int, owner: dict, kind: str, up: Upload
) -> Attachment:
    content_type = validate(up, max_bytes)
    sha256 = hashlib.sha256(up.content).hexdigest()
    row = Attachment(
        kind=kind,
        version=_next_version(session, owner, kind),
        filename=_clean_name(up.filename),
        content_type=content_type,
        size_bytes=len(up.content),
        sha256=sha256,
        note=(up.note or "").strip() or None,
        uploaded_by_id=actor.id,
        **owner,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "attachment.upload", "attachment", row.id, None, audit.snapshot(row)
    )
    # The file last, so a refused row leaves nothing behind on disk; a file written by a
    # transaction that then fails is harmless (content-addressed, unreferenced).
    _write_once(root, sha256, up.content)
    return row


def attach_original_prescription(
    session: Session, actor: User, rx: Prescription, upload: Upload, root: Path, max_bytes: int
) -> Attachment:
    return _attach(
        session, actor, root, max_bytes, {"prescription_id": rx.id}, "original_prescription", upload
    )


def attach_certificate(
    session: Session, actor: User, lot: IngredientLot, upload: Upload, root: Path, max_bytes: int
) -> Attachment:
    return _attach(
        session, actor, root, max_bytes, {"lot_id": lot.id}, "certificate_of_analysis", upload
    )


def for_prescription(session: Session, rx_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.prescription_id == rx_id)
            .order_by(Attachment.version.desc())
        )
    )


def for_lot(session: Session, lot_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.lot_id == lot_id)
            .order_by(Attachment.version.desc())
        )
    )


def open_for_view(session: Session, actor: User, row: Attachment, root: Path) -> bytes:
    """The attachment's bytes, checked against the checksum, with the view audited."""
    path = path_for(root, row.sha256)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise AttachmentMissing(f"the file of attachment {row.id} is missing") from None
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise AttachmentMissing(f"the file of attachment {row.id} does not match its checksum")
    audit.record(
        session,
        actor,
        "attachment.view",
        "attachment",
        row.id,
        None,
        {"sha256": row.sha256, "filename": row.filename},
    )
    return content


def download_name(row: Attachment) -> str:
    stem = row.filename.rsplit(".", 1)[0] if "." in row.filename else row.filename
    return f"{stem}.v{row.version}.{EXTENSIONS[row.content_type]}"
