"""Label rendering speed, against a bare reportlab canvas drawing the same text."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

import labels
from labels import DispensingLabelData, Pharmacy


def sample(i: int) -> DispensingLabelData:
    today = date(2026, 11, 26)
    return DispensingLabelData(
        pharmacy=Pharmacy(
            "Riverside Compounding Pharmacy", "120 Main Street, Springfield, IL", "(217) 555-0142"
        ),
        rx_number=f"RX{100000 + i:06d}K",
        fill_number=1 + i % 5,
        patient_name=f"Margaret Ellis {i}",
        preparation="Naltrexone HCl 4.5 mg capsules",
        quantity=30,
        quantity_unit="capsules",
        directions="Take 1 capsule by mouth at bedtime",
        prescriber="Helen Park, MD",
        date_filled=today,
        refills_remaining=3,
        batch_number=f"20261126-LDNCAP-{i % 999:03d}",
        beyond_use_date=today + timedelta(days=180),
        storage="Store at room temperature",
        pharmacist_initials="PC",
    )


def _bare(items: list[DispensingLabelData]) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(4 * inch, 2 * inch))
    for d in items:
        y = 1.8 * inch
        for text in (
            d.pharmacy.name,
            d.rx_number,
            d.patient_name,
            d.preparation,
            d.directions,
            d.prescriber,
            str(d.beyond_use_date),
            d.batch_number,
        ):
            c.drawString(0.1 * inch, y, text)
            y -= 0.2 * inch
        c.showPage()
    c.save()
    return buf.getvalue()


def _rate(fn, items, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn(items)
    elapsed = time.perf_counter() - start
    return len(items) * repeats / elapsed


def run(report) -> None:
    one = [sample(1)]
    job = [sample(i) for i in range(500)]
    single = _rate(labels.render_dispensing_labels, one, 60)
    single_ref = _rate(_bare, one, 60)
    batch = _rate(labels.render_dispensing_labels, job, 1)
    batch_ref = _rate(_bare, job, 1)
    report.add(
        "label render, single (labels/s)",
        f"{single:.0f}",
        f"bare canvas {single_ref:.0f}",
        f"{single / single_ref:.2f}",
    )
    report.add(
        "label render, 500-label job (labels/s)",
        f"{batch:.0f}",
        f"bare canvas {batch_ref:.0f}",
        f"{batch / batch_ref:.2f}",
    )
