"""One print use case per document: gather its data, render it, log the print.

The pages (web/printing.py) and the JSON API (web/api/documents.py) both call these, so a
document prints, refuses and is logged the same way whichever door it was asked through. The
caller hands over the record already row-locked, so two first prints cannot both count as the
original; a DocumentRefused (409) or LabelError/ValidationFailed (422) leaves nothing logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

import labels

from ..models import Batch, Dispense, LabelPrint, Order, Prescription, User
from . import documents, printing

READY_JOB_LIMIT = 200


@dataclass(frozen=True)
class Output:
    printed: printing.Printed
    filename: str


def dispensing_label(
    session: Session, actor: User, order: Order, options: printing.PrintOptions
) -> Output:
    data = documents.dispensing_label(session, order)
    printed = printing.print_document(
        session,
        actor,
        "dispensing_label",
        order.id,
        lambda job: labels.render_dispensing_labels(
            [data] * job.copies, job.stock, job.start_position, reprint=job.reprint
        ),
        options,
    )
    return Output(printed, f"label-{order.number}.pdf")


def titration_labels(
    session: Session,
    actor: User,
    order: Order,
    options: printing.PrintOptions,
    start: date | None = None,
) -> Output:
    kit = documents.titration_kit(session, order, start)
    printed = printing.print_document(
        session,
        actor,
        "titration_labels",
        order.id,
        lambda job: labels.render_titration_labels(
            kit, job.stock, job.start_position, reprint=job.reprint
        ),
        options,
    )
    return Output(printed, f"titration-labels-{order.number}.pdf")


def titration_calendar(
    session: Session,
    actor: User,
    order: Order,
    options: printing.PrintOptions,
    start: date | None = None,
) -> Output:
    kit = documents.titration_kit(session, order, start)
    printed = printing.print_document(
        session,
        actor,
        "titration_calendar",
        order.id,
        lambda job: labels.render_titration_calendar(
            kit, watermark="REPRINT" if job.reprint else None
        ),
        options,
    )
    return Output(printed, f"titration-calendar-{order.number}.pdf")


def leaflet(
    session: Session,
    actor: User,
    rx: Prescription,
    options: printing.PrintOptions,
    start: date | None = None,
) -> Output:
    data = documents.leaflet(session, rx, start)
    printed = printing.print_document(
        session, actor, "leaflet", rx.id, lambda job: labels.render_leaflet(data), options
    )
    return Output(printed, f"leaflet-{rx.rx_number}.pdf")


def ready_labels(
    session: Session, actor: User, options: printing.PrintOptions, today: date | None = None
) -> Output:
    """Every checked order (filled, final check made) whose label has not been printed yet,
    in one PDF (reprints go through the order's own label)."""
    labelled = (
        select(LabelPrint.id)
        .where(
            LabelPrint.document == "dispensing_label",
            LabelPrint.entity == "rx_order",
            LabelPrint.entity_id == cast(Order.id, String),
        )
        .exists()
    )
    filled = select(Dispense.id).where(Dispense.order_id == Order.id).exists()
    orders = list(
        session.scalars(
            select(Order)
            # Checked by a pharmacist (final check): the label carries their initials.
            .where(Order.status == "checked", filled, ~labelled)
            .order_by(Order.id)
            .limit(READY_JOB_LIMIT)
            .with_for_update(of=Order)
        )
    )
    if not orders:
        raise documents.DocumentRefused(
            "No checked order is waiting for its first label: every order past its final "
            "check has been printed. Reprint a single label from its order page."
        )
    data = [documents.dispensing_label(session, o) for o in orders]
    printed = printing.print_documents(
        session,
        actor,
        "dispensing_label",
        [o.id for o in orders],
        lambda job: labels.render_dispensing_labels(
            data, job.stock, job.start_position, reprint=job.reprint
        ),
        options,
    )
    return Output(printed, f"ready-labels-{(today or date.today()).isoformat()}.pdf")


def batch_label(
    session: Session, actor: User, batch: Batch, options: printing.PrintOptions
) -> Output:
    data = documents.batch_label(session, batch)
    printed = printing.print_document(
        session,
        actor,
        "batch_label",
        batch.id,
        lambda job: labels.render_batch_label(
            data, job.stock, job.start_position, job.copies, reprint=job.reprint
        ),
        options,
    )
    return Output(printed, f"batch-label-{batch.batch_number}.pdf")


def worksheet(
    session: Session, actor: User, batch: Batch, options: printing.PrintOptions
) -> Output:
    data = documents.worksheet(session, batch)
    status_mark = documents.worksheet_watermark(batch)

    def render(job: printing.Job) -> bytes:
        marks = [m for m in ("REPRINT" if job.reprint else None, status_mark) if m]
        return labels.render_worksheet(data, watermark=" · ".join(marks) or None)

    printed = printing.print_document(session, actor, "worksheet", batch.id, render, options)
    return Output(printed, f"worksheet-{batch.batch_number}.pdf")
