"""Titration kit: one dispensing label per step, and a one-page dosing calendar for the patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from .data import DispensingLabelData, TitrationKitData, TitrationStep
from .dispensing import plan_dispensing_label
from .document import draw_watermark, fmt_date, new_canvas, render_labels
from .errors import LabelDoesNotFit
from .stocks import DEFAULT_STOCK, INCH, Box, LabelStock, get_stock
from .text import esc

MARGIN = 0.6 * INCH
MIN_CELL_HEIGHT = 22.0  # a date line and a dose line at 7 and 9 pt
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHADES = (colors.white, colors.Color(0.9, 0.9, 0.9))


@dataclass(frozen=True)
class TitrationKitDocuments:
    labels: bytes  # on the label stock
    calendar: bytes  # US Letter, for the patient


def _last_day(step: TitrationStep) -> date:
    return step.start_date + timedelta(days=step.days - 1)


def _period(step: TitrationStep) -> str:
    return f"{fmt_date(step.start_date)} – {fmt_date(_last_day(step))}"


def step_labels(kit: TitrationKitData) -> list[DispensingLabelData]:
    """The kit as ordinary dispensing labels, each captioned with its step and dates."""
    n = len(kit.steps)
    return [
        DispensingLabelData(
            pharmacy=kit.pharmacy,
            rx_number=kit.rx_number,
            fill_number=kit.fill_number,
            patient_name=kit.patient_name,
            preparation=s.preparation,
            quantity=s.quantity,
            quantity_unit=s.quantity_unit,
            directions=s.directions,
            prescriber=kit.prescriber,
            date_filled=kit.date_filled,
            refills_remaining=kit.refills_remaining,
            batch_number=s.batch_number,
            beyond_use_date=s.beyond_use_date,
            storage=kit.storage,
            pharmacist_initials=kit.pharmacist_initials,
            pharmacist_esigned=kit.pharmacist_esigned,
            compounded_statement=kit.compounded_statement,
            extra_warnings=kit.extra_warnings,
            caption=f"Step {i} of {n}: {s.dose} daily, {_period(s)}",
        )
        for i, s in enumerate(kit.steps, start=1)
    ]


def render_titration_labels(
    kit: TitrationKitData,
    stock: str | LabelStock = DEFAULT_STOCK,
    start_position: int = 1,
    *,
    reprint: bool = False,
    watermark: str | None = None,
) -> bytes:
    the_stock = get_stock(stock)
    the_stock.check_start_position(start_position)
    drawings = [dr for d in step_labels(kit) for dr in plan_dispensing_label(d, the_stock, reprint)]
    title = f"Titration kit labels Rx# {kit.rx_number}"
    return render_labels(the_stock, drawings, start_position, title, watermark)


def _style(size: float, bold: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        "cal",
        fontName="Helvetica-Bold" if bold else "Helvetica",
        fontSize=size,
        leading=size * 1.2,
    )


def _steps_table(kit: TitrationKitData, width: float) -> Table:
    body = _style(9)
    rows: list[Sequence[object]] = [["Step", "Daily dose", "From", "To", "Directions"]]
    for i, s in enumerate(kit.steps, start=1):
        rows.append(
            [
                str(i),
                Paragraph(f"<b>{esc(s.dose, 'dose')}</b>", body),
                fmt_date(s.start_date),
                fmt_date(_last_day(s)),
                Paragraph(esc(s.directions, "directions"), body),
            ]
        )
    fixed = [0.45 * INCH, 0.9 * INCH, 1.0 * INCH, 1.0 * INCH]
    table = Table(rows, colWidths=[*fixed, width - sum(fixed)], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.85, 0.85, 0.85)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                *[
                    ("BACKGROUND", (0, r), (-1, r), SHADES[(r - 1) % 2])
                    for r in range(1, len(rows))
                ],
            ]
        )
    )
    return table


def _step_on(kit: TitrationKitData, day: date) -> int | None:
    for i, s in enumerate(kit.steps):
        if s.start_date <= day <= _last_day(s):
            return i
    return None


def _draw_grid(canvas: Canvas, kit: TitrationKitData, area: Box) -> None:
    first = kit.steps[0].start_date
    last = _last_day(kit.steps[-1])
    monday = first - timedelta(days=first.weekday())
    weeks = (last - monday).days // 7 + 1
    header = 14.0
    cell_w = area.width / 7
    cell_h = min(60.0, (area.height - header) / weeks)
    if cell_h < MIN_CELL_HEIGHT:
        raise LabelDoesNotFit(
            "steps",
            "letter",
            f"the calendar has {weeks} weeks; one page holds at most "
            f"{int((area.height - header) // MIN_CELL_HEIGHT)}",
        )
    top = area.top
    canvas.setFont("Helvetica-Bold", 9)
    for col, name in enumerate(WEEKDAYS):
        canvas.drawCentredString(area.x + (col + 0.5) * cell_w, top - 10, name)
    top -= header
    compact = cell_h < 30
    date_size, dose_size = (7.0, 9.0) if compact else (8.0, 10.0)
    box_size = min(11.0, cell_h * 0.4)
    for week in range(weeks):
        for col in range(7):
            day = monday + timedelta(days=week * 7 + col)
            x, y = area.x + col * cell_w, top - (week + 1) * cell_h
            step = _step_on(kit, day)
            canvas.setFillColor(
                colors.Color(0.75, 0.75, 0.75) if step is None else SHADES[step % 2]
            )
            canvas.setLineWidth(0.5)
            canvas.rect(x, y, cell_w, cell_h, stroke=1, fill=1)
            canvas.setFillColor(colors.black)
            canvas.setFont("Helvetica", date_size)
            date_y = y + cell_h - date_size - 1.5
            canvas.drawString(x + 3, date_y, fmt_date(day).rsplit(",", 1)[0])
            if step is None:
                continue
            s = kit.steps[step]
            canvas.setFont("Helvetica-Bold", dose_size)
            canvas.drawString(x + 3, y + 3, s.dose)
            canvas.setLineWidth(1)
            canvas.rect(x + cell_w - box_size - 3, y + 3, box_size, box_size, stroke=1, fill=0)
            if day == s.start_date:
                canvas.setFont("Helvetica-Bold", 7)
                canvas.drawRightString(x + cell_w - 3, date_y, f"Step {step + 1} starts")


def render_titration_calendar(kit: TitrationKitData, *, watermark: str | None = None) -> bytes:
    width, height = LETTER
    page = Box(0, 0, width, height)
    area = page.inset(MARGIN)
    buffer = BytesIO()
    canvas = new_canvas(buffer, LETTER, f"LDN dosing calendar Rx# {kit.rx_number}")
    y = area.top
    heading = Paragraph("Your LDN dosing calendar", _style(16, bold=True))
    y -= heading.wrapOn(canvas, area.width, 100)[1]
    heading.drawOn(canvas, area.x, y)
    p = kit.pharmacy
    who = Paragraph(
        f"<b>{esc(kit.patient_name, 'patient_name')}</b> · Rx# {esc(kit.rx_number, 'rx_number')}"
        f" · Prescriber: {esc(kit.prescriber, 'prescriber')}<br/>"
        f"{esc(p.name, 'pharmacy.name')} · {esc(p.address, 'pharmacy.address')} · "
        f"Questions? Call <b>{esc(p.phone, 'pharmacy.phone')}</b>",
        _style(10),
    )
    y -= 4 + who.wrapOn(canvas, area.width, 200)[1]
    who.drawOn(canvas, area.x, y)
    table = _steps_table(kit, area.width)
    y -= 8 + table.wrapOn(canvas, area.width, y - area.y)[1]
    table.drawOn(canvas, area.x, y)
    note = Paragraph(
        "Take one dose a day at the same time (usually at bedtime). Use the strength for that "
        "day, shown on the matching step label. <b>Tick the box after each dose.</b> Do not move "
        "to the next step early. If side effects bother you, call us before changing your dose.",
        _style(9.5),
    )
    y -= 8 + note.wrapOn(canvas, area.width, 200)[1]
    note.drawOn(canvas, area.x, y)
    _draw_grid(canvas, kit, Box(area.x, area.y, area.width, y - 8 - area.y))
    if watermark:
        draw_watermark(canvas, page, watermark)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_titration_kit(
    kit: TitrationKitData,
    stock: str | LabelStock = DEFAULT_STOCK,
    start_position: int = 1,
    *,
    reprint: bool = False,
    watermark: str | None = None,
) -> TitrationKitDocuments:
    """Two PDFs: label printers and sheet printers are different devices."""
    return TitrationKitDocuments(
        labels=render_titration_labels(
            kit, stock, start_position, reprint=reprint, watermark=watermark
        ),
        calendar=render_titration_calendar(kit, watermark=watermark),
    )
