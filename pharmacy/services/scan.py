"""Scan-to-verify at dispensing: the label's barcode must be this order's, and the stock
container's batch barcode must be a batch that filled it. A match is stored (LabelScan): the
hand-out needs one made after the label was printed (services.handout)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import FieldError, ValidationFailed
from ..models import Batch, Dispense, LabelScan, Order, User
from . import audit

# Scanners may append control characters (e.g. a trailing NUL or CR); they are not data.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean(scanned: str | None) -> str:
    return _CONTROL.sub("", scanned or "").strip().upper()


def verify_label_scan(
    session: Session, actor: User, order: Order, label_code: str, batch_code: str | None
) -> dict:
    """Refuse a mismatch with the field named; on a match, record the check in the audit trail."""
    expected = f"{order.prescription.rx_number}-{order.fill_number:02d}"
    label = clean(label_code)
    errors = []
    if not label:
        errors.append(FieldError("label_code", "scan the barcode on the dispensing label"))
    elif label != expected.upper():
        errors.append(
            FieldError(
                "label_code",
                f"this label is for {label}, not for order {expected}: do not hand it out",
            )
        )
    batch_numbers = list(
        session.scalars(
            select(Batch.batch_number)
            .join(Dispense, Dispense.batch_id == Batch.id)
            .where(Dispense.order_id == order.id)
            .distinct()
        )
    )
    if not batch_numbers:
        errors.append(FieldError("label_code", f"nothing has been dispensed to {expected} yet"))
    batch = clean(batch_code)
    if batch and batch_numbers and batch not in {b.upper() for b in batch_numbers}:
        errors.append(
            FieldError(
                "batch_code",
                f"batch {batch} did not fill order {expected} (filled from "
                f"{', '.join(batch_numbers)})",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    row = LabelScan(
        order_id=order.id, label_code=label, batch_code=batch or None, scanned_by_id=actor.id
    )
    session.add(row)
    session.flush()
    result = {"order": expected, "label": label, "batch": batch or None, "batches": batch_numbers}
    audit.record(
        session, actor, "label.verify", "rx_order", order.id, None, {**result, "scan_id": row.id}
    )
    return result
