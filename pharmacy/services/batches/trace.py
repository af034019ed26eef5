"""Listing batches and tracing a lot or a batch to the patients who received it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...models import (
    Batch,
    BatchLotUsage,
    Dispense,
    IngredientLot,
    Order,
    Patient,
    Prescriber,
    Prescription,
)
from .. import audit
from .common import TRACE_PAGE


def list_batches(session: Session, status: str | None = None, limit: int = 200) -> list[Batch]:
    stmt = select(Batch).order_by(Batch.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Batch.status == status)
    return list(session.scalars(stmt))


@dataclass
class Trace:
    """One page of a trace: a page of the batches (plain rows) and a page of recipients, with
    the totals; the CSV (iter_recipients) carries every recipient."""

    lot: IngredientLot | None
    batch: Batch | None
    batches: list[dict] = field(default_factory=list)
    lots: list[dict] = field(default_factory=list)
    recipients: list[dict] = field(default_factory=list)
    truncated: bool = False  # more recipients than this page
    total_recipients: int = 0
    total_batches: int = 0
    page: int = 1
    per_page: int = TRACE_PAGE
    batch_page: int = 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_recipients // self.per_page))

    @property
    def batch_pages(self) -> int:
        return max(1, -(-self.total_batches // self.per_page))

    def to_dict(self) -> dict:
        return _flat_top(
            {
                "lot": None
                if self.lot is None
                else {
                    "id": self.lot.id,
                    "lot_number": self.lot.lot_number,
                    "ingredient": self.lot.ingredient.name,
                    "status": self.lot.status,
                    "expires_on": self.lot.expires_on,
                },
                "batch": None
                if self.batch is None
                else {"id": self.batch.id, "batch_number": self.batch.batch_number},
                "batches": _flat(self.batches),
                "total_batches": self.total_batches,
                "batch_page": self.batch_page,
                "batch_pages": self.batch_pages,
                "lots": _flat(self.lots),
                "recipients": _flat(self.recipients),
                "total_recipients": self.total_recipients,
                "page": self.page,
                "pages": self.pages,
                "per_page": self.per_page,
                "truncated": self.truncated,
            }
        )


def _scalar(v):
    """audit._plain for one value (Decimal as its exact string, dates ISO)."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def _flat(rows: list[dict]) -> list[dict]:
    """audit._plain for flat rows of scalars, without walking them recursively."""
    return [{k: _scalar(v) for k, v in r.items()} for r in rows]


def _flat_top(body: dict) -> dict:
    return {k: v if isinstance(v, list) else audit._plain(v) for k, v in body.items()}


CSV_COLUMNS = (
    "batch_number",
    "batch_status",
    "dispensed_at",
    "quantity",
    "unit",
    "order",
    "order_status",
    "patient",
    "patient_dob",
    "patient_phone",
    "patient_address",
    "prescriber",
    "prescriber_npi",
    "prescriber_phone",
)


_RECIPIENT_COLUMNS = (
    Batch.id,
    Batch.batch_number,
    Batch.status,
    Dispense.dispensed_at,
    Dispense.quantity,
    Dispense.unit,
    Order.id,
    Order.fill_number,
    Order.status,
    Prescription.rx_number,
    Patient.id,
    Patient.first_name,
    Patient.last_name,
    Patient.date_of_birth,
    Patient.phone,
    Patient.address,
    Prescriber.first_name,
    Prescriber.last_name,
    Prescriber.credentials,
    Prescriber.npi,
    Prescriber.phone,
)


def _recipients_stmt(batch_filter):
    """Dispenses of the batches -> orders -> patients and prescribers, in a stable order."""
    return (
        select(*_RECIPIENT_COLUMNS)
        .select_from(Dispense)
        .join(Batch, Batch.id == Dispense.batch_id)
        .join(Order, Order.id == Dispense.order_id)
        .join(Prescription, Prescription.id == Order.prescription_id)
        .join(Patient, Patient.id == Prescription.patient_id)
        .join(Prescriber, Prescriber.id == Prescription.prescriber_id)
        .where(batch_filter)
        .order_by(Dispense.batch_id, Dispense.id)
    )


def _recipient(r) -> dict:
    return {
        "batch_id": r[0],
        "batch_number": r[1],
        "batch_status": r[2],
        "dispensed_at": r[3],
        "quantity": r[4],
        "unit": r[5],
        "order_id": r[6],
        "order": f"{r[9]}-{r[7]:02d}",
        "order_status": r[8],
        "patient_id": r[10],
        "patient": f"{r[11]} {r[12]}",
        "patient_dob": r[13],
        "patient_phone": r[14],
        "patient_address": r[15],
        "prescriber": f"{r[16]} {r[17]}, {r[18]}".rstrip(", "),
        "prescriber_npi": r[19],
        "prescriber_phone": r[20],
    }


def _batch_counts(session: Session, lot_id: int) -> list[tuple[int, int]]:
    """(batch id, recipients) for every batch made with the lot, in batch order: in one
    statement, read from two indexes alone (ix_batch_lot_usage_lot_id_batch_id, then
    ix_dispense_batch_id once per batch). A batch that used the lot on two lines (stock API
    and aliquot) counts once."""
    used = (
        select(BatchLotUsage.batch_id).where(BatchLotUsage.lot_id == lot_id).distinct().subquery()
    )
    n = (
        select(func.count())
        .select_from(Dispense)
        .where(Dispense.batch_id == used.c.batch_id)
        .scalar_subquery()
    )
    return [
        (b, k) for b, k in session.execute(select(used.c.batch_id, n).order_by(used.c.batch_id))
    ]


def _span(counts: list[tuple[int, int]], limit: int, page: int) -> tuple[list[int], int]:
    """The batches that hold recipients [start, start + limit) of the whole list (ordered by
    batch, then dispense), and where the page starts within the first of them."""
    start, seen, ids, offset = (page - 1) * limit, 0, [], 0
    for batch_id, n in counts:
        if seen + n > start and n:
            if not ids:
                offset = start - seen
            ids.append(batch_id)
        seen += n
        if seen >= start + limit:
            break
    return ids, offset


def _recipients(
    session: Session, counts: list[tuple[int, int]], limit: int, page: int = 1
) -> tuple[list[dict], bool, int]:
    """One page of recipients, whether more follow, and how many there are in all, from each
    batch's count: only the few batches the page falls in are read and joined to orders,
    patients and prescribers (the cost does not grow with the page number nor the lot's size)."""
    total = sum(n for _, n in counts)
    ids, offset = _span(counts, limit, page)
    rows = []
    if ids:
        stmt = _recipients_stmt(Dispense.batch_id.in_(ids)).limit(limit).offset(offset)
        rows = [_recipient(r) for r in session.execute(stmt)]
    return rows, page * limit < total, total


def iter_recipients(session: Session, lot_id: int | None = None, batch_id: int | None = None):
    """Every recipient of a lot or a batch, streamed in chunks (for the CSV)."""
    if lot_id is not None:
        batch_filter = Dispense.batch_id.in_(
            select(BatchLotUsage.batch_id).where(BatchLotUsage.lot_id == lot_id)
        )
    else:
        batch_filter = Dispense.batch_id == batch_id
    result = session.execute(
        _recipients_stmt(batch_filter).execution_options(yield_per=1000, stream_results=True)
    )
    for r in result:
        yield _recipient(r)


_BATCH_COLUMNS = (
    "id",
    "batch_number",
    "status",
    "compounded_on",
    "beyond_use_date",
    "units_made",
    "units_remaining",
    "unit",
)


def _batch_rows(batches: Iterable) -> list[dict]:
    """Batch rows or entities as plain dicts."""
    return [{c: getattr(b, c) for c in _BATCH_COLUMNS} for b in batches]


def trace_lot(
    session: Session, lot_id: int, limit: int = TRACE_PAGE, page: int = 1, batch_page: int = 1
) -> Trace:
    """The batches made with a lot and the patients who received them, a page of each (a lot
    can feed a thousand batches and ten thousand patients), with their totals."""
    lot = session.get(IngredientLot, lot_id)
    if lot is None:
        raise ValidationFailed.single("lot_id", "is not a known lot")
    page, batch_page = _page(page), _page(batch_page, "batch_page")
    counts = _batch_counts(session, lot_id)
    total_batches = len(counts)
    page_ids = [b for b, _ in counts[(batch_page - 1) * limit : batch_page * limit]]
    batches = []
    if page_ids:
        batches = session.execute(
            select(*(getattr(Batch, c) for c in _BATCH_COLUMNS))
            .where(Batch.id.in_(page_ids))
            .order_by(Batch.id)
        ).all()
    recipients, more, total = _recipients(session, counts, limit, page)
    return Trace(
        lot,
        None,
        _batch_rows(batches),
        [],
        recipients,
        more,
        total,
        total_batches,
        page,
        limit,
        batch_page,
    )


def _page(page, field: str = "page") -> int:
    if not isinstance(page, int) or page < 1:
        raise ValidationFailed.single(field, "must be a whole number from 1")
    return page


def trace_batch(session: Session, batch: Batch, limit: int = TRACE_PAGE, page: int = 1) -> Trace:
    page = _page(page)
    count = session.scalar(select(func.count()).where(Dispense.batch_id == batch.id))
    recipients, more, total = _recipients(session, [(batch.id, count)], limit, page)
    lots = [
        {
            "lot_id": u.lot_id,
            "lot_number": u.lot.lot_number,
            "ingredient": u.lot.ingredient.name,
            "role": u.role,
            "status": u.lot.status,
            "expires_on": u.lot.expires_on,
            "quantity": u.actual_quantity if u.actual_quantity is not None else u.planned_quantity,
            "unit": u.unit,
        }
        for u in batch.lot_usages
    ]
    return Trace(None, batch, _batch_rows([batch]), lots, recipients, more, total, 1, page, limit)
