"""Compounding worksheet / batch record on US Letter: what an inspector asks to see.

Decimals are printed exactly as given: rounding belongs to the domain rules that produced them,
and the record must show the numbers that were actually used.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .data import QcSummary, Signature, WorksheetData
from .document import CREATOR, draw_watermark, fmt_date, numbered_canvas
from .stocks import INCH, Box
from .text import clean, esc

MARGIN = 0.6 * INCH
HEADER_SPACE = 0.5 * INCH
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=8.5, leading=10.5)
BOLD = ParagraphStyle("bold", parent=BODY, fontName="Helvetica-Bold")
NOTE = ParagraphStyle("note", parent=BODY, fontSize=7.5, leading=9, spaceBefore=2)
H1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=15, leading=18, spaceAfter=4)
H2 = ParagraphStyle(
    "h2",
    fontName="Helvetica-Bold",
    fontSize=11,
    leading=14,
    spaceBefore=10,
    spaceAfter=4,
    keepWithNext=1,  # a heading never ends a page without its table
)
HEAD_BG = colors.Color(0.85, 0.85, 0.85)
FAIL_BG = colors.Color(1, 0.85, 0.85)


def _num(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _p(value: object, field: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(esc(_num(value), field, "worksheet"), style)


def _verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "—"}[passed]


def _table(rows: list[list[object]], widths: Sequence[float], extra: Sequence = ()) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                *extra,
            ]
        )
    )
    return table


def _summary(w: WorksheetData, width: float) -> Table:
    pairs = [
        ("Batch number", w.batch_number),
        ("Formula (MFR)", f"{w.formula_name} — version {w.formula_version}"),
        ("Preparation", w.preparation),
        ("Strength", w.strength),
        ("Dosage form", w.dosage_form),
        ("Quantity", w.quantity),
        ("Date compounded", fmt_date(w.date_compounded)),
        ("Beyond-use date", f"Do not use after {fmt_date(w.beyond_use_date)}"),
        ("BUD basis", w.bud_basis),
        ("Storage", w.storage),
    ]
    if w.prescription_ref:
        pairs.append(("Rx / order", w.prescription_ref))
    rows = [[Paragraph(k, BOLD), _p(v, k)] for k, v in pairs]
    table = Table(rows, colWidths=[1.5 * INCH, width - 1.5 * INCH])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), HEAD_BG),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _calculations(w: WorksheetData, width: float) -> list:
    rows: list[list[object]] = [["#", "Step", "Formula and inputs", "Result"]]
    for i, s in enumerate(w.steps, start=1):
        result = f"{_num(s.value)} {s.unit}".strip()
        rows.append(
            [
                str(i),
                _p(s.label, "step.label"),
                _p(s.formula, "step.formula"),
                _p(result, "step.value", BOLD),
            ]
        )
    widths = [0.35 * INCH, 1.9 * INCH, width - 3.65 * INCH, 1.4 * INCH]
    return [Paragraph("1. Calculations", H2), _table(rows, widths)]


def _actual(lot) -> str:
    if lot.actual is None:
        return ""  # left blank to be written in
    source = {"captured": "(balance)", "typed": "(typed)"}.get(lot.weight_source, "")
    return f"{_num(lot.actual)}\n{source}" if source else _num(lot.actual)


def _lots(w: WorksheetData, width: float) -> list:
    rows: list[list[object]] = [
        ["Component", "Manufacturer", "Lot", "Expiry", "Planned", "Actual", "Unit", "By", "Check"]
    ]
    blank = []
    for r, lot in enumerate(w.lots, start=1):
        rows.append(
            [
                _p(lot.component, "lot.component"),
                _p(lot.manufacturer, "lot.manufacturer"),
                _p(lot.lot_number, "lot.lot_number", BOLD),
                fmt_date(lot.expiry),
                _num(lot.planned),
                _actual(lot),
                _p(lot.unit, "lot.unit"),
                _p(lot.weighed_by, "lot.weighed_by"),
                "",  # the second person's initials, written at the bench
            ]
        )
        if lot.actual is None:
            blank.append(("BOTTOMPADDING", (0, r), (-1, r), 10))
    fixed = [0.85, 0.95, 0.75, 0.7, 0.7, 0.45, 0.35, 0.45]
    widths = [width - sum(fixed) * INCH] + [f * INCH for f in fixed]
    return [
        Paragraph("3. Components, lots and weights (planned vs actual)", H2),
        _table(rows, widths, [("ALIGN", (4, 1), (5, -1), "RIGHT"), *blank]),
        Paragraph(
            "Actual: the bench weight or measure, (balance) when read from the balance, (typed) "
            "when entered by hand. By: initials of who weighed; Check: initials "
            "of who checked the weighing.",
            NOTE,
        ),
    ]


def _method(w: WorksheetData, width: float) -> list:
    flow: list = [Paragraph("2. Compounding method (from the master formulation record)", H2)]
    if not w.method_steps:
        return [*flow, Paragraph("The formula gives no method steps.", BODY)]
    rows: list[list[object]] = [["#", "Step", "Done by", "Checked by"]]
    for i, step in enumerate(w.method_steps, start=1):
        rows.append([str(i), _p(step, "method_steps"), "", ""])
    fixed = [0.35, 0.9, 0.9]
    table = _table(
        rows,
        [fixed[0] * INCH, width - sum(fixed) * INCH, fixed[1] * INCH, fixed[2] * INCH],
        [("TOPPADDING", (0, 1), (-1, -1), 5), ("BOTTOMPADDING", (0, 1), (-1, -1), 7)],
    )
    return [*flow, table]


def _equipment(w: WorksheetData, width: float) -> list:
    rows: list[list[object]] = [["Equipment", "ID", "Detail"]]
    for e in w.equipment:
        rows.append(
            [
                _p(e.kind, "equipment.kind"),
                _p(e.identifier, "equipment.identifier", BOLD),
                _p(e.detail, "equipment.detail"),
            ]
        )
    return [
        Paragraph("4. Equipment", H2),
        _table(rows, [1.6 * INCH, 1.4 * INCH, width - 3.0 * INCH]),
    ]


def _qc(w: WorksheetData, width: float) -> list:
    flow: list = [Paragraph("5. Quality control", H2)]
    if w.qc_verdict:
        flow += [Paragraph(f"Result: <b>{esc(w.qc_verdict, 'qc_verdict')}</b>", BODY), Spacer(1, 3)]
    qc: QcSummary | None = w.qc
    if qc is not None:
        flow.append(
            Paragraph(
                f"Target net fill {_num(qc.target_net_mg)} mg; limits {_num(qc.lower_mg)}–"
                f"{_num(qc.upper_mg)} mg; mean net fill <b>{_num(qc.mean_mg)} mg</b>; "
                f"weight check result: <b>{_verdict(qc.passed)}</b>",
                BODY,
            )
        )
        flow.append(Spacer(1, 4))
    if w.qc_weights:
        rows: list[list[object]] = [["Unit #", "Gross (mg)", "Net fill (mg)", "Result"]]
        extra = []
        for r, q in enumerate(w.qc_weights, start=1):
            rows.append(
                [
                    str(q.index),
                    _num(q.gross_mg),
                    "" if q.net_mg is None else _num(q.net_mg),
                    _verdict(q.passed),
                ]
            )
            if not q.passed:
                extra.append(("BACKGROUND", (0, r), (-1, r), FAIL_BG))
        flow.append(
            _table(
                rows,
                [0.8 * INCH, 1.2 * INCH, 1.2 * INCH, 0.8 * INCH],
                [("ALIGN", (0, 0), (-1, -1), "RIGHT"), *extra],
            )
        )
    if not w.qc_weights and w.qc_blank_rows:
        flow += _blank_weights(w.qc_blank_rows)
    checks = (*(qc.checks if qc is not None else ()), *w.qc_checks)
    if checks:
        rows = [["Check", "Expected", "Result", "Pass/Fail"]]
        blank = []
        for r, c in enumerate(checks, start=1):
            if not c.result:
                blank.append(("BOTTOMPADDING", (0, r), (-1, r), 10))
            rows.append(
                [
                    _p(c.name, "qc.name"),
                    _p(c.expected, "qc.expected"),
                    _p(c.result, "qc.result"),
                    _verdict(c.passed) if c.result else "",
                ]
            )
        flow += [
            Paragraph("Checks", ParagraphStyle("h3", parent=BOLD, spaceBefore=8, spaceAfter=3)),
            _table(rows, [1.8 * INCH, 2.2 * INCH, width - 4.8 * INCH, 0.8 * INCH], blank),
        ]
    if len(flow) == 1:
        flow.append(Paragraph("No QC results recorded.", BODY))
    return flow


def _blank_weights(count: int) -> list:
    """Lines to write the capsule weights on at the bench, before they are entered."""
    rows: list[list[object]] = [["Unit #", "Gross (mg)", "Net fill (mg)", "Initials"]]
    rows += [[str(i), "", "", ""] for i in range(1, count + 1)]
    return [
        Paragraph("Empty shell weight (mg): ____________   Weighed by: ______", BODY),
        Spacer(1, 3),
        _table(
            rows,
            [0.8 * INCH, 1.2 * INCH, 1.2 * INCH, 0.8 * INCH],
            [("TOPPADDING", (0, 1), (-1, -1), 4), ("BOTTOMPADDING", (0, 1), (-1, -1), 6)],
        ),
    ]


def _signatures(signatures: Sequence[Signature], width: float) -> KeepTogether:
    rows: list[list[object]] = [["Role", "Name", "Date", "Signature"]]
    for s in signatures:
        rows.append(
            [
                _p(s.role, "signature.role", BOLD),
                _p(s.name, "signature.name"),
                fmt_date(s.signed_on) if s.signed_on else "",
                _p(f"e-signed: {s.esigned}", "signature.esigned") if s.esigned else "",
            ]
        )
    table = _table(
        rows,
        [1.4 * INCH, 1.9 * INCH, 1.2 * INCH, width - 4.5 * INCH],
        [
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
            ("TOPPADDING", (0, 1), (-1, -1), 9),
            ("BOTTOMPADDING", (0, 1), (-1, -1), 9),
        ],
    )
    return KeepTogether([Paragraph("7. Signatures and release", H2), table])


def render_worksheet(w: WorksheetData, *, watermark: str | None = None) -> bytes:
    width = LETTER[0] - 2 * MARGIN
    header_left = clean(w.pharmacy_name, "pharmacy_name", "worksheet")  # drawString: no markup
    header_right = (
        f"Batch {esc(w.batch_number, 'batch_number', 'worksheet')} · "
        f"{esc(w.formula_name, 'formula_name', 'worksheet')} v"
        f"{esc(w.formula_version, 'formula_version', 'worksheet')}"
    )

    def on_page(canvas: Canvas, _doc) -> None:
        canvas.saveState()
        top = LETTER[1] - MARGIN / 2 - 6
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(MARGIN, top, "COMPOUNDING RECORD")
        right = Paragraph(header_right, ParagraphStyle("hr", parent=BOLD, alignment=2))
        right.wrapOn(canvas, width * 0.7, 20)
        right.drawOn(canvas, LETTER[0] - MARGIN - width * 0.7, top - 2)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(MARGIN, top - 11, header_left)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, top - 15, LETTER[0] - MARGIN, top - 15)
        if watermark:
            draw_watermark(canvas, Box(0, 0, *LETTER), watermark)
        canvas.restoreState()

    story: list = [
        Paragraph(f"Compounding record — batch {esc(w.batch_number, 'batch_number')}", H1),
        _summary(w, width),
        *_calculations(w, width),
        *_method(w, width),
        *_lots(w, width),
        *_equipment(w, width),
        *_qc(w, width),
        Paragraph("6. Notes, deviations and problems", H2),
        _p(w.notes or "None recorded.", "notes"),
        _signatures(w.signatures, width),
    ]
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_SPACE / 2,
        bottomMargin=MARGIN,
        title=f"Compounding record {w.batch_number}",
        author=CREATOR,
        creator=CREATOR,
        invariant=1,
    )
    footer = clean(
        f"Batch {w.batch_number} · printed record; the signed copy is the original",
        "batch_number",
        "worksheet",
    )
    doc.build(
        story,
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=numbered_canvas(footer, MARGIN),
    )
    return buffer.getvalue()
