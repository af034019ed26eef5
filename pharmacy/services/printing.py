"""Printing: choose the stock, render through `labels`, and log every print and reprint.

A print is one transaction: the PDF is rendered first (a refusal leaves nothing behind),
then the LabelPrint row and its audit event are written together. A document printed before
for the same record is a reprint: it needs a reason and is marked REPRINT on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import Session

import labels

from ..domain.errors import ValidationFailed
from ..models import LabelPrint, PharmacyProfile, User
from . import audit, print_queue

LETTER = "letter"  # full-page documents are logged with this "stock"
MAX_COPIES = 100
MIN_REASON = 3


@dataclass(frozen=True)
class DocumentKind:
    name: str  # shown to people
    entity: str  # audit / print-log entity name
    on_labels: bool  # printed on label stock (else US Letter)
    tracks_reprints: bool = True
    default_stock: str | None = None  # None: the pharmacy's default label stock


DOCUMENTS: dict[str, DocumentKind] = {
    "dispensing_label": DocumentKind("dispensing label", "rx_order", True),
    "titration_labels": DocumentKind("titration kit labels", "rx_order", True),
    "titration_calendar": DocumentKind("titration calendar", "rx_order", False),
    # The batch number is a QR code, which fits the 3 in roll for any batch number.
    "batch_label": DocumentKind(
        "batch container label", "batch", True, default_stock=labels.DEFAULT_BATCH_STOCK
    ),
    "worksheet": DocumentKind("compounding worksheet", "batch", False),
    # The pharmacy's own barcode for an ingredient container (one per container: not reprints).
    "lot_label": DocumentKind(
        "ingredient lot label",
        "ingredient_lot",
        True,
        tracks_reprints=False,
        default_stock=labels.DEFAULT_BATCH_STOCK,
    ),
    # Patient information: handing out another copy is routine, not a reprint.
    "leaflet": DocumentKind("patient leaflet", "prescription", False, tracks_reprints=False),
}


@dataclass(frozen=True)
class PrintOptions:
    stock: str | None = None  # None or "": the default for the document
    start_position: int = 1
    copies: int = 1
    reason: str = ""
    send: bool = False  # also send to the CUPS printer set for the stock (print_queue)


@dataclass(frozen=True)
class Job:
    """What the renderer is told: resolved stock, where to start, and whether it is a reprint."""

    stock: str
    start_position: int
    copies: int
    reprint: bool


@dataclass(frozen=True)
class Printed:
    pdf: bytes
    logs: list[LabelPrint]
    reprint: bool
    job: print_queue.JobOutcome | None = None  # None: not sent (no printer set, or not asked)


# Built once (bound parameters): building a select cost as much as running it.
_DEFAULT_STOCK = select(PharmacyProfile.default_label_stock).limit(1)
_HISTORY = (
    select(LabelPrint)
    .where(LabelPrint.entity == bindparam("entity"), LabelPrint.entity_id == bindparam("eid"))
    .order_by(LabelPrint.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


def pharmacy_default_stock(session: Session) -> str:
    # The one column (no profile, or a stock no longer known: the default stock).
    code = session.scalar(_DEFAULT_STOCK)
    return code if code in labels.STOCKS else labels.DEFAULT_STOCK


def stock_choices() -> list[tuple[str, str]]:
    return [(s.code, s.description) for s in labels.STOCKS.values()]


def resolve_stock(session: Session, kind: DocumentKind, requested: str | None) -> str:
    if not kind.on_labels:
        return LETTER
    code = (requested or "").strip() or kind.default_stock or pharmacy_default_stock(session)
    return labels.get_stock(code).code  # UnknownStock (a LabelError) for anything else


def times_printed(session: Session, document: str, entity_id: int | str) -> int:
    kind = DOCUMENTS[document]
    return session.scalar(
        select(func.count())
        .select_from(LabelPrint)
        .where(
            LabelPrint.document == document,
            LabelPrint.entity == kind.entity,
            LabelPrint.entity_id == str(entity_id),
        )
    )


def history(session: Session, entity: str, entity_id: int | str, limit: int = 20) -> list:
    params = {"entity": entity, "eid": str(entity_id), "limit": limit}
    return list(session.scalars(_HISTORY, params))


def _check_options(kind: DocumentKind, stock: str, options: PrintOptions) -> None:
    copies = options.copies
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        raise ValidationFailed.single("copies", f"choose 1 to {MAX_COPIES} copies")
    if kind.on_labels:
        labels.get_stock(stock).check_start_position(options.start_position)


def print_documents(
    session: Session,
    actor: User,
    document: str,
    entity_ids: Sequence[int],
    render: Callable[[Job], bytes],
    options: PrintOptions,
) -> Printed:
    """Render one PDF for one or more records of the same kind and log one row per record.

    Records printed before make the job a reprint; a reprint needs a reason."""
    kind = DOCUMENTS[document]
    stock = resolve_stock(session, kind, options.stock)
    _check_options(kind, stock, options)
    earlier = sum(times_printed(session, document, i) for i in entity_ids)
    reprint = kind.tracks_reprints and earlier > 0
    reason = (options.reason or "").strip()
    if reprint and len(reason) < MIN_REASON:
        raise ValidationFailed.single(
            "reason",
            f"this {kind.name} was printed before: say why it is printed again "
            "(e.g. 'label damaged', 'printer jam')",
        )
    job = Job(stock, options.start_position if kind.on_labels else 1, options.copies, reprint)
    pdf = render(job)  # a LabelError here leaves nothing written
    logs = []
    for entity_id in entity_ids:
        row = LabelPrint(
            document=document,
            entity=kind.entity,
            entity_id=str(entity_id),
            stock=stock,
            copies=options.copies,
            reprint=reprint,
            reason=reason or None,
            printed_by_id=actor.id,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "document.reprint" if reprint else "document.print",
            kind.entity,
            entity_id,
            None,
            {
                "document": document,
                "stock": stock,
                "copies": options.copies,
                "start_position": job.start_position,
                "reprint": reprint,
                "label_print_id": row.id,
            },
            reason=reason or None,
        )
        logs.append(row)
    job = print_queue.dispatch(session, actor, logs, pdf, stock) if options.send else None
    return Printed(pdf, logs, reprint, job)


def print_document(
    session: Session,
    actor: User,
    document: str,
    entity_id: int,
    render: Callable[[Job], bytes],
    options: PrintOptions,
) -> Printed:
    return print_documents(session, actor, document, [entity_id], render, options)
