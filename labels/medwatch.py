"""A complaint or adverse event as an FDA MedWatch 3500-style report (sections A to E), from
plain data. Letter size; the pharmacy submits it (or its content) to FDA / the state board."""

from __future__ import annotations

from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .data import MedWatchData
from .document import CREATOR, fmt_date, numbered_canvas
from .errors import MissingField
from .stocks import INCH
from .text import clean, esc

MARGIN = 0.6 * INCH
H1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=15, leading=19, spaceAfter=2)
SUB = ParagraphStyle("sub", fontName="Helvetica", fontSize=9, leading=11.5, spaceAfter=6)
H2 = ParagraphStyle(
    "h2", fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=8, spaceAfter=3
)
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=9.5, leading=12)
BOLD = ParagraphStyle("bold", parent=BODY, fontName="Helvetica-Bold")
REQUIRED = ("report_id", "description", "product", "reporter_name")


def _p(value: object, field: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(esc("" if value is None else str(value), field, "medwatch"), style)


def _rows(pairs: list[tuple[str, object, str]], width: float) -> Table:
    data = [[Paragraph(label, BOLD), _p(value, field)] for label, value, field in pairs]
    table = Table(data, colWidths=[1.9 * INCH, width - 1.9 * INCH])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
            ]
        )
    )
    return table


def _date(d) -> str:
    return fmt_date(d) if d else "unknown"


def _patient_and_event(m: MedWatchData, width: float) -> list:
    outcome = "Serious" if m.serious else "Not serious"
    return [
        Paragraph("MEDWATCH 3500-style report — " + esc(m.kind, "kind", "medwatch"), H1),
        Paragraph(
            f"Report {esc(m.report_id, 'report_id', 'medwatch')} · "
            f"{esc(m.pharmacy.name, 'pharmacy', 'medwatch')}, "
            f"{esc(m.pharmacy.address, 'pharmacy', 'medwatch')} · "
            f"{esc(m.pharmacy.phone, 'pharmacy', 'medwatch')}",
            SUB,
        ),
        Paragraph("A. Patient information", H2),
        _rows(
            [
                ("Patient identifier", m.patient_initials or "not known", "patient_initials"),
                ("Age at time of event", m.patient_age or "not known", "patient_age"),
                ("Sex", m.patient_sex or "not known", "patient_sex"),
            ],
            width,
        ),
        Paragraph("B. Adverse event or product problem", H2),
        _rows(
            [
                ("Type", m.kind, "kind"),
                ("Outcome", f"{outcome} — {m.severity}", "severity"),
                ("Date of event", _date(m.event_date), "event_date"),
                ("Date the pharmacy learned of it", _date(m.received_on), "received_on"),
                ("Describe event or problem", m.description, "description"),
            ],
            width,
        ),
    ]


def _product_review_reporter(m: MedWatchData, width: float) -> list:
    return [
        Paragraph("C. Product", H2),
        _rows(
            [
                ("Name (compounded)", m.product, "product"),
                ("Strength", m.strength or "not known", "strength"),
                ("Lot (batch) number", m.batch_number or "not known", "batch_number"),
                ("Beyond-use date", _date(m.beyond_use_date), "beyond_use_date"),
                ("Prescription / order", f"{m.rx_number} {m.order_number}".strip(), "rx_number"),
                ("Dose, frequency, route", m.directions or "not known", "directions"),
            ],
            width,
        ),
        Paragraph("D. Pharmacist's assessment", H2),
        _rows(
            [
                ("Assessment", m.review or "not yet reviewed", "review"),
                ("Reviewed by", m.reviewed_by or "—", "reviewed_by"),
            ],
            width,
        ),
        Paragraph("E. Reporter", H2),
        _rows(
            [
                ("Name", m.reporter_name, "reporter_name"),
                ("Reporter is", m.reporter_role, "reporter_role"),
                ("Contact", m.reporter_contact or "—", "reporter_contact"),
                ("Submitted by (pharmacy)", m.pharmacy.name, "pharmacy"),
            ],
            width,
        ),
        Spacer(1, 8),
        Paragraph(
            "Compounded preparations are not FDA-approved; report serious adverse events to "
            "FDA MedWatch and the state board of pharmacy.",
            SUB,
        ),
    ]


def render_medwatch(m: MedWatchData) -> bytes:
    for name in REQUIRED:
        if not str(getattr(m, name) or "").strip():
            raise MissingField("medwatch", name)
    width = LETTER[0] - 2 * MARGIN
    story = [*_patient_and_event(m, width), *_product_review_reporter(m, width)]
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"MedWatch report {m.report_id}",
        author=CREATOR,
        creator=CREATOR,
        invariant=1,
    )
    footer = clean(f"Report {m.report_id} · {m.kind}", "report_id", "medwatch")
    doc.build(story, canvasmaker=numbered_canvas(footer, MARGIN))
    return buffer.getvalue()
