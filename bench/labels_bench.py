"""Label rendering speed, against a bare reportlab canvas drawing the same text and barcode."""

from __future__ import annotations

import io
import statistics
import time
from datetime import date, timedelta

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

import labels
from labels import DispensingLabelData, Pharmacy
from labels.barcodes import MODULE, QUIET, rx_barcode_value

NAMES = ("Margaret Ellis", "Jo Li", "Maria-Guadalupe Fernandez-Castellanos", "Robert Smith")
DIRECTIONS = (
    "Take 1 capsule by mouth at bedtime",
    "Take 1 capsule by mouth at bedtime. May cause vivid dreams; if sleep is disturbed, "
    "take in the morning instead",
    "Take 2 capsules by mouth once daily",
)


def sample(i: int) -> DispensingLabelData:
    """Label i: names, directions and numbers vary, so no two labels are the same."""
    today = date(2026, 11, 26)
    return DispensingLabelData(
        pharmacy=Pharmacy(
            "Riverside Compounding Pharmacy", "120 Main Street, Springfield, IL", "(217) 555-0142"
        ),
        rx_number=f"RX{100000 + i:06d}K",
        fill_number=1 + i % 5,
        patient_name=f"{NAMES[i % len(NAMES)]} {i}",
        preparation="Naltrexone HCl 4.5 mg capsules",
        quantity=30,
        quantity_unit="capsules",
        directions=DIRECTIONS[i % len(DIRECTIONS)],
        prescriber="Helen Park, MD",
        date_filled=today,
        refills_remaining=3,
        batch_number=f"20261126-LDNCAP-{i % 999:03d}",
        beyond_use_date=today + timedelta(days=180),
        storage="Store at room temperature",
        pharmacist_initials="PC",
    )


def _texts(d: DispensingLabelData) -> list[tuple[str, str, float]]:
    """Every string the dispensing label prints, in its font and starting size."""
    p = d.pharmacy
    return [
        ("Helvetica", f"{p.name} · {p.address} · Tel {p.phone}", 7),
        (
            "Helvetica-Bold",
            f"Rx# {d.rx_number} · Fill {d.fill_number:02d} · Filled "
            f"{d.date_filled} · Refills left: {d.refills_remaining}",
            8,
        ),
        ("Helvetica-Bold", d.patient_name, 11),
        ("Helvetica-Bold", f"{d.preparation} · Qty: {d.quantity} {d.quantity_unit}", 9),
        ("Helvetica", d.directions, 11),
        ("Helvetica-Bold", f"Do not use after {d.beyond_use_date} · {d.storage}", 9),
        ("Helvetica", f"Prescriber: {d.prescriber} · Batch/Lot: {d.batch_number}", 7.5),
        *(
            ("Helvetica-Bold", w, 7)
            for w in labels.auxiliary_warnings(d.directions, d.extra_warnings)
        ),
        ("Helvetica-Bold", f"RPh: {d.pharmacist_initials}", 8),
        ("Helvetica-Oblique", d.compounded_statement, 7),
    ]


def _bare(items: list[DispensingLabelData]) -> bytes:
    """The same text, fonts and Code 128 symbol, drawn straight on a canvas: one string per
    block at its starting size, no fitting, no wrapping, no second label."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(4 * inch, 2 * inch))
    for d in items:
        y = 1.9 * inch
        for font, text, size in _texts(d):
            c.setFont(font, size)
            c.drawString(0.1 * inch, y, text)
            y -= size * 1.18
        value = rx_barcode_value(d.rx_number, d.fill_number)
        Code128(value, barWidth=MODULE, barHeight=24, lquiet=QUIET, rquiet=QUIET).drawOn(
            c, 0.1 * inch, 0.1 * inch
        )
        c.drawString(0.1 * inch, 0.05 * inch, value)
        c.showPage()
    c.save()
    return buf.getvalue()


def _single(render, items: list[DispensingLabelData]) -> float:
    """Labels/s printing one label at a time, each a different label (a new PDF each)."""
    start = time.perf_counter()
    for d in items:
        render([d])
    return len(items) / (time.perf_counter() - start)


def _job(render, items: list[DispensingLabelData]) -> float:
    start = time.perf_counter()
    render(items)
    return len(items) / (time.perf_counter() - start)


def run(report, rounds: int = 3) -> None:
    singles = [sample(i) for i in range(1000, 1060)]
    job = [sample(i) for i in range(500)]
    _single(labels.render_dispensing_labels, singles[:5])  # warm fonts and caches
    _single(_bare, singles[:5])
    got = {k: [] for k in ("single", "single_ref", "job", "job_ref")}
    for _ in range(rounds):  # each figure next to its reference, several rounds, medians
        got["single"].append(_single(labels.render_dispensing_labels, singles))
        got["single_ref"].append(_single(_bare, singles))
        got["job"].append(_job(labels.render_dispensing_labels, job))
        got["job_ref"].append(_job(_bare, job))
    for name, fig, ref in (("single", "single", "single_ref"), ("500-label job", "job", "job_ref")):
        ratio = statistics.median(a / b for a, b in zip(got[fig], got[ref], strict=True))
        report.add(
            f"label render, {name} (labels/s)",
            f"{statistics.median(got[fig]):.0f}",
            f"bare canvas with barcode {statistics.median(got[ref]):.0f}",
            f"{ratio:.0%}",
            ">= 50%",
            ok=ratio >= 0.5,
        )
