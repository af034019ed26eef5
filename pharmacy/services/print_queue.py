"""The print queue: label PDFs go to the CUPS printer set for their label stock (`lp`).

Each stock (and "letter" for full-page documents) has at most one CUPS queue, set on the admin
page. A print that is sent records on its print-log rows the queue, the CUPS job id and the
outcome ("sent", or "failed" with what `lp` said); the PDF is still offered for download, so a
failed send never loses the print. Every change of a printer setting is audited.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import labels

from ..domain.errors import FieldError, ValidationFailed
from ..models import LabelPrint, LabelPrinter, User
from . import audit

LETTER = "letter"
LP_TIMEOUT_S = 30
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,127}$")  # CUPS: no spaces, '/' or '#'
_REQUEST_ID = re.compile(r"request id is (\S+)")


@dataclass(frozen=True)
class JobOutcome:
    printer: str
    job_id: str | None
    status: str  # "sent" or "failed"
    message: str


def stocks() -> list[tuple[str, str]]:
    """Every stock a printer can be set for, with its description."""
    return [(s.code, s.description) for s in labels.STOCKS.values()] + [
        (LETTER, "US Letter paper (worksheets, calendars, leaflets)")
    ]


def printers(session: Session) -> dict[str, LabelPrinter]:
    return {p.stock: p for p in session.scalars(select(LabelPrinter))}


def printer_for(session: Session, stock: str) -> str | None:
    row = session.scalar(
        select(LabelPrinter).where(LabelPrinter.stock == stock, LabelPrinter.active.is_(True))
    )
    return row.cups_printer if row else None


def cups_queues() -> list[str]:
    """The queues the local CUPS server offers (empty when there is none)."""
    if shutil.which("lpstat") is None:
        return []
    try:
        out = subprocess.run(
            ["lpstat", "-e"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


def set_printers(session: Session, actor: User, chosen: dict[str, str]) -> None:
    """Save the queue per stock ({stock: queue}; blank removes the stock's printer)."""
    known = dict(stocks())
    errors = [
        FieldError(f"printer_{stock}", "a CUPS queue name has no spaces, '/' or '#'")
        for stock, queue in chosen.items()
        if queue.strip() and not _QUEUE_NAME.match(queue.strip())
    ]
    errors += [FieldError(f"printer_{s}", "unknown label stock") for s in chosen if s not in known]
    if errors:
        raise ValidationFailed(errors)
    current = printers(session)
    old, new = {}, {}
    for stock, queue in chosen.items():
        queue = queue.strip()
        row = current.get(stock)
        before = row.cups_printer if row and row.active else None
        if (queue or None) == before:
            continue
        old[stock], new[stock] = before, queue or None
        if row is None:
            session.add(LabelPrinter(stock=stock, cups_printer=queue, active=True))
        elif queue:
            row.cups_printer, row.active = queue, True
        else:
            row.active = False  # kept, not deleted: the print log names it
    if new:
        session.flush()
        audit.record(session, actor, "printers.update", "label_printer", None, old, new)


def send_pdf(pdf: bytes, printer: str, title: str) -> JobOutcome:
    """Hand the PDF to CUPS with `lp`; never raises for a printing problem."""
    if shutil.which("lp") is None:
        return JobOutcome(printer, None, "failed", "lp (CUPS client) is not installed")
    try:
        done = subprocess.run(
            ["lp", "-d", printer, "-t", title, "-"],
            input=pdf,
            capture_output=True,
            timeout=LP_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return JobOutcome(printer, None, "failed", f"lp did not finish: {exc}")
    out = (done.stdout or b"").decode(errors="replace").strip()
    err = (done.stderr or b"").decode(errors="replace").strip()
    match = _REQUEST_ID.search(out)
    if done.returncode != 0 or match is None:
        return JobOutcome(printer, None, "failed", err or out or f"lp exit {done.returncode}")
    return JobOutcome(printer, match.group(1), "sent", out)


def dispatch(
    session: Session, actor: User, logs: Sequence[LabelPrint], pdf: bytes, stock: str
) -> JobOutcome | None:
    """Send a rendered print to its stock's printer and record the outcome on its log rows."""
    printer = printer_for(session, stock)
    if printer is None or not logs:
        return None
    title = f"LDN-print-{logs[0].id}-{logs[0].document}"
    outcome = send_pdf(pdf, printer, title)
    for row in logs:
        row.printer, row.job_id = outcome.printer, outcome.job_id
        row.job_status, row.job_message = outcome.status, outcome.message[:2000]
    session.flush()
    audit.record(
        session,
        actor,
        "document.sent" if outcome.status == "sent" else "document.send_failed",
        logs[0].entity,
        logs[0].entity_id,
        None,
        {
            "label_print_ids": [r.id for r in logs],
            "printer": outcome.printer,
            "job_id": outcome.job_id,
            "status": outcome.status,
            "message": outcome.message,
        },
    )
    return outcome
