"""Patient information leaflet for LDN, with a week-by-week symptom journal to fill in by hand."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .data import LeafletData
from .document import CREATOR, draw_watermark, fmt_date, numbered_canvas
from .stocks import INCH, Box
from .text import clean, esc

MARGIN = 0.65 * INCH
WEEKS_PER_PAGE = 12
TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=18, leading=22, spaceAfter=2)
SUB = ParagraphStyle("sub", fontName="Helvetica", fontSize=10, leading=13, spaceAfter=6)
H2 = ParagraphStyle(
    "h2",
    fontName="Helvetica-Bold",
    fontSize=12.5,
    leading=15,
    spaceBefore=9,
    spaceAfter=3,
    keepWithNext=1,
)
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=13.5)
BULLET = ParagraphStyle("bullet", parent=BODY, leftIndent=14, bulletIndent=3, spaceAfter=1.5)
BOX = ParagraphStyle(
    "box",
    parent=BODY,
    fontName="Helvetica-Bold",
    borderWidth=1.2,
    borderColor=colors.black,
    borderPadding=6,
    spaceBefore=8,
    spaceAfter=10,
)
CELL = ParagraphStyle("cell", fontName="Helvetica", fontSize=8.5, leading=10)
CELL_BOLD = ParagraphStyle("cellb", parent=CELL, fontName="Helvetica-Bold")

# Wording follows the LDN reference (FDA naltrexone labeling; LDN counselling sources).
WHAT_IT_IS = (
    "Low dose naltrexone (LDN) is naltrexone taken at a much smaller dose than the 50 mg tablets "
    "used for alcohol or opioid dependence, usually between 0.5 mg and 4.5 mg a day. Our pharmacy "
    "compounds it for you as prescribed by your doctor. Using naltrexone at a low dose is "
    '"off-label", and compounded medicines are not FDA-approved products, so ask us if you have '
    "any questions about why it was prescribed for you."
)
HOW_TO_TAKE = [
    "Take it exactly as shown on your label, at the <b>same time every day</b>. Most people take "
    "it <b>at bedtime</b>.",
    "If sleep problems or vivid dreams continue, ask your prescriber or pharmacist whether you "
    "may take it in the morning instead.",
    "If your doctor prescribed a starting schedule (titration), follow your dosing calendar and "
    "use the strength for each step. Do not change your dose yourself.",
    "If you miss a dose, skip it and take the next dose at the usual time. "
    "<b>Do not take two doses</b> to make up for a missed one.",
]
SIDE_EFFECTS = [
    "Trouble sleeping (insomnia)",
    "Vivid or unusual dreams",
    "Headache",
    "Mild nausea or upset stomach",
]
OPIOIDS = (
    "Do not take LDN with opioid pain medicines (for example tramadol, codeine, hydrocodone, "
    "oxycodone, morphine, fentanyl) or with methadone or buprenorphine. Naltrexone blocks "
    "opioids, so they will not relieve pain, and you may get sudden withdrawal symptoms. "
    "Never try to overcome the block by taking more opioid medicine: this can cause a serious or "
    "fatal overdose. Some cough and diarrhea medicines contain opioids too; ask us before taking "
    "any new medicine. Tell every doctor, dentist, surgeon and emergency team that you take LDN, "
    "especially before surgery or a procedure."
)
CAUTIONS = [
    "<b>Pregnancy and breastfeeding:</b> tell your prescriber and pharmacist if you are pregnant, "
    "may become pregnant or are breastfeeding. Naltrexone has not been well studied in "
    "pregnancy, so your prescriber will weigh the benefits and risks with you.",
    "<b>Liver:</b> tell your prescriber if you have liver disease or hepatitis. Naltrexone must "
    "not be used in acute hepatitis or liver failure. Stop taking it and call your prescriber if "
    "you notice yellow skin or eyes, dark urine, pain in the upper right stomach area lasting "
    "more than a few days, or unusual tiredness.",
    "<b>Thyroid medicine:</b> if you take thyroid hormone (for example for Hashimoto's), your "
    "prescriber may want to check your thyroid levels, as your dose may need to change.",
]
CALL_US = [
    "side effects that are severe or do not settle after 2 weeks",
    "you need a pain medicine, or a doctor wants to give you an opioid",
    "you start any new medicine, including cough and cold or diarrhea products",
    "you become pregnant or start breastfeeding",
    "you are unsure how to take your dose, or you missed several doses",
]
STORAGE = (
    "Store as shown on your label, away from heat, moisture and light, out of the reach of "
    'children and pets. Do not use after the "Do not use after" date on the label.'
)


def _bullets(items: list[str]) -> list[Paragraph]:
    return [Paragraph(item, BULLET, bulletText="•") for item in items]


def _information(d: LeafletData) -> list:
    p = d.pharmacy
    phone = esc(p.phone, "pharmacy.phone", "leaflet")
    personal = []
    if d.patient_name:
        personal.append(f"Prepared for <b>{esc(d.patient_name, 'patient_name', 'leaflet')}</b>")
    if d.rx_number:
        personal.append(f"Rx# {esc(d.rx_number, 'rx_number', 'leaflet')}")
    if d.preparation:
        personal.append(esc(d.preparation, "preparation", "leaflet"))
    story: list = [
        Paragraph("Low Dose Naltrexone (LDN)", TITLE),
        Paragraph("Patient information — please read and keep with your medicine", SUB),
    ]
    if personal:
        story.append(Paragraph(" · ".join(personal), SUB))
    if d.directions:
        story.append(
            Paragraph(f"Your directions: {esc(d.directions, 'directions', 'leaflet')}", BOX)
        )
    story += [
        Paragraph("What is LDN?", H2),
        Paragraph(WHAT_IT_IS, BODY),
        Paragraph("How to take it", H2),
        *_bullets(HOW_TO_TAKE),
        Paragraph("Common side effects", H2),
        Paragraph(
            "These are usually mild and temporary, and often settle within the first few weeks:",
            BODY,
        ),
        *_bullets(SIDE_EFFECTS),
        KeepTogether(
            [
                Paragraph("Opioid medicines: important", H2),
                Paragraph(OPIOIDS, BOX),
            ]
        ),
        Paragraph("Other cautions", H2),
        *_bullets(CAUTIONS),
        Paragraph("Storage", H2),
        Paragraph(STORAGE, BODY),
        KeepTogether(
            [
                Paragraph("When to call your pharmacist", H2),
                Paragraph(
                    f"Call {esc(p.name, 'pharmacy.name', 'leaflet')} on <b>{phone}</b> if:", BODY
                ),
                *_bullets(CALL_US),
                Spacer(1, 6),
                Paragraph(
                    "<b>Call 911</b> for trouble breathing, swelling of the face or throat, "
                    "a severe rash, or signs of an opioid overdose.",
                    BODY,
                ),
            ]
        ),
    ]
    return story


def _journal_page(d: LeafletData, first_week: int, weeks: int, width: float) -> list:
    label_width = 1.75 * INCH
    col = (width - label_width) / weeks
    header = [Paragraph("Week", CELL_BOLD)] + [str(first_week + i) for i in range(weeks)]
    rows: list[list[object]] = [header]
    if d.journal_start:
        dates = [
            fmt_date(d.journal_start + timedelta(weeks=first_week - 1 + i)).rsplit(",", 1)[0]
            for i in range(weeks)
        ]
        rows.append([Paragraph("Week starting", CELL_BOLD), *dates])
    else:
        rows.append([Paragraph("Week starting", CELL_BOLD), *[""] * weeks])
    rows.append([Paragraph("Dose (mg)", CELL_BOLD), *[""] * weeks])
    for name in d.journal_rows:
        rows.append([Paragraph(esc(name, "journal_rows", "leaflet"), CELL), *[""] * weeks])
    for _ in range(3):
        rows.append([Paragraph("Other: ____________", CELL), *[""] * weeks])
    rows.append([Paragraph("Notes", CELL_BOLD), *[""] * weeks])
    heights = [16, 16] + [32] * (len(rows) - 3) + [64]
    table = Table(rows, colWidths=[label_width] + [col] * weeks, rowHeights=heights)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 2), colors.Color(0.88, 0.88, 0.88)),
                ("FONT", (1, 0), (-1, 0), "Helvetica-Bold", 9),
                ("FONT", (1, 1), (-1, 1), "Helvetica", 7.5),
                ("ALIGN", (1, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    last = first_week + weeks - 1
    return [
        Paragraph(f"My LDN symptom journal — weeks {first_week} to {last}", TITLE),
        Paragraph(
            "Once a week, write your dose and rate each symptom from 0 (none) to 10 (worst). "
            "For side effects (0-3) write 0 (none), 1 (mild), 2 (moderate) or 3 (severe). "
            "Bring this page to your appointments.",
            SUB,
        ),
        table,
    ]


def render_leaflet(d: LeafletData, *, watermark: str | None = None) -> bytes:
    width = LETTER[0] - 2 * MARGIN
    story = _information(d)
    for first in range(1, d.journal_weeks + 1, WEEKS_PER_PAGE):
        weeks = min(WEEKS_PER_PAGE, d.journal_weeks - first + 1)
        story += [PageBreak(), *_journal_page(d, first, weeks, width)]

    def on_page(canvas, _doc) -> None:
        if watermark:
            draw_watermark(canvas, Box(0, 0, *LETTER), watermark)

    footer = clean(f"{d.pharmacy.name} · {d.pharmacy.phone}", "pharmacy", "leaflet")
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="Low Dose Naltrexone (LDN) — patient information",
        author=CREATOR,
        creator=CREATOR,
        invariant=1,
    )
    doc.build(
        story,
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=numbered_canvas(footer, MARGIN),
    )
    return buffer.getvalue()
