"""Realistic sample records for every document, and PDF read-back helpers.

A plain module, not conftest.py: other test folders have their own conftest.
"""

import io
from datetime import date, timedelta
from decimal import Decimal

import pdfplumber
import pypdfium2
import zxingcpp
from pypdf import PdfReader

from labels import (
    BatchLabelData,
    CalculationStep,
    DispensingLabelData,
    EquipmentUse,
    LeafletData,
    LotUsage,
    Pharmacy,
    QcCheck,
    QcSummary,
    QcWeight,
    Signature,
    TitrationKitData,
    TitrationStep,
    WorksheetData,
)

PHARMACY = Pharmacy(
    name="Riverside Compounding Pharmacy",
    address="1200 Main Street, Suite 4, Springfield, IL 62701",
    phone="(217) 555-0142",
)


def make_label(**overrides) -> DispensingLabelData:
    values = dict(
        pharmacy=PHARMACY,
        rx_number="RX000123",
        fill_number=1,
        patient_name="Maria Gonzalez",
        preparation="Naltrexone HCl 4.5 mg capsules",
        quantity=30,
        quantity_unit="capsules",
        directions="Take 1 capsule by mouth once daily at bedtime.",
        prescriber="Dr. Helen Park, MD",
        date_filled=date(2026, 3, 14),
        refills_remaining=2,
        batch_number="B260310-004",
        beyond_use_date=date(2026, 9, 6),
        storage="Store at room temperature; protect from light.",
        pharmacist_initials="JK",
    )
    values.update(overrides)
    return DispensingLabelData(**values)


def make_batch(**overrides) -> BatchLabelData:
    values = dict(
        batch_number="B260310-004",
        preparation="Naltrexone HCl 4.5 mg capsules (Avicel PH-105, size 3)",
        strength="4.5 mg per capsule",
        quantity_made=120,
        quantity_unit="capsules",
        date_compounded=date(2026, 3, 10),
        beyond_use_date=date(2026, 9, 6),
        storage="Room temperature 20-25 °C, tight light-resistant container",
        compounded_by="A. Rivera (AR)",
        checked_by="J. Kim, RPh (JK)",
        pharmacy_name=PHARMACY.name,
    )
    values.update(overrides)
    return BatchLabelData(**values)


def make_kit(step_days=(14, 14, 14), doses=("1.5", "3", "4.5")) -> TitrationKitData:
    start = date(2026, 3, 16)
    steps = []
    for i, (days, dose) in enumerate(zip(step_days, doses, strict=True)):
        steps.append(
            TitrationStep(
                start_date=start,
                days=days,
                dose=f"{dose} mg",
                preparation=f"Naltrexone HCl {dose} mg capsules",
                quantity=days,
                quantity_unit="capsules",
                directions=f"Take 1 capsule ({dose} mg) by mouth at bedtime for {days} days.",
                batch_number=f"B2603-{i + 1:03d}",
                beyond_use_date=date(2026, 9, 1),
            )
        )
        start += timedelta(days=days)
    return TitrationKitData(
        pharmacy=PHARMACY,
        rx_number="RX000456",
        fill_number=0,
        patient_name="Thomas O'Neill",
        prescriber="Dr. Helen Park, MD",
        date_filled=date(2026, 3, 14),
        refills_remaining=0,
        storage="Store at room temperature; protect from light.",
        pharmacist_initials="JK",
        steps=tuple(steps),
    )


def make_worksheet(qc_rows: int = 20, step_rows: int = 0) -> WorksheetData:
    steps = [
        CalculationStep("Units to make", "100 capsules + 20% overage, rounded up", 120, "capsules"),
        CalculationStep("API per batch (HCl)", "4.5 mg × 120", Decimal("540.0"), "mg"),
        CalculationStep(
            "Potency correction", "540.0 mg / 0.995 (CoA assay, as is)", Decimal("542.7"), "mg"
        ),
        CalculationStep(
            "Filler (Avicel PH-105)", "120 × 180 mg − 542.7 mg", Decimal("21057.3"), "mg"
        ),
        CalculationStep(
            "Theoretical net fill", "(542.7 + 21057.3) mg / 120", Decimal("180.0"), "mg"
        ),
    ]
    steps += [
        CalculationStep(f"Check {i}", f"step {i} formula text", Decimal(i), "mg")
        for i in range(step_rows)
    ]
    weights = tuple(
        QcWeight(
            i,
            Decimal("228.0") + Decimal(i % 7),
            Decimal("180.0") + Decimal(i % 7) - 3,
            passed=i != 5,
        )
        for i in range(1, qc_rows + 1)
    )
    return WorksheetData(
        pharmacy_name=PHARMACY.name,
        batch_number="B260310-004",
        formula_name="Naltrexone HCl 4.5 mg capsules",
        formula_version="3",
        preparation="Naltrexone HCl 4.5 mg capsules",
        strength="4.5 mg naltrexone HCl per capsule",
        dosage_form="Capsule, hard gelatin, size 3",
        quantity="120 capsules (100 + 20% overage)",
        date_compounded=date(2026, 3, 10),
        beyond_use_date=date(2026, 9, 6),
        bud_basis="USP <795> other nonaqueous: 180 days",
        storage="Controlled room temperature, tight, light-resistant container",
        steps=tuple(steps),
        lots=(
            LotUsage(
                "Naltrexone HCl USP",
                "NX-24-118",
                date(2027, 5, 31),
                Decimal("542.7"),
                Decimal("542.9"),
                "mg",
                "Medisca",
            ),
            LotUsage(
                "Microcrystalline cellulose (Avicel PH-105)",
                "AV-8831",
                date(2028, 1, 31),
                Decimal("21057.3"),
                Decimal("21060.1"),
                "mg",
                "PCCA",
            ),
            LotUsage(
                "Capsule shells size 3, white",
                "CS3-5521",
                date(2027, 12, 31),
                Decimal("120"),
                None,
                "each",
                "Capsuline",
            ),
        ),
        equipment=(
            EquipmentUse("Balance", "BAL-02", "Class III electronic, 0.001 g, verified 2026-03-10"),
            EquipmentUse("Capsule machine", "CAPM-100", "ProFiller 100, size 3"),
        ),
        qc_weights=weights,
        qc=QcSummary(
            target_net_mg=Decimal("180.0"),
            lower_mg=Decimal("162.0"),
            upper_mg=Decimal("198.0"),
            mean_mg=Decimal("180.1"),
            passed=False,
            checks=(
                QcCheck("Appearance", "White, uniform, no cracks", "Conforms", True),
                QcCheck("Yield", "≥ 100 capsules", "119 capsules", True),
            ),
        ),
        signatures=(
            Signature("Compounded by", "A. Rivera", date(2026, 3, 10)),
            Signature("Checked by", "J. Kim, RPh", date(2026, 3, 10)),
            Signature("Released by"),
        ),
        notes="Unit 5 outside limits, discarded.",
    )


def make_leaflet(**overrides) -> LeafletData:
    values = dict(
        pharmacy=PHARMACY,
        patient_name="Maria Gonzalez",
        preparation="Naltrexone HCl 4.5 mg capsules",
        directions="Take 1 capsule by mouth once daily at bedtime.",
        rx_number="RX000123",
        journal_start=date(2026, 3, 14),
    )
    values.update(overrides)
    return LeafletData(**values)


def decode_barcodes(
    pdf: bytes, page: int = 0, dpi: int = 203, formats=zxingcpp.BarcodeFormat.Code128
) -> list[str]:
    """Render like a 203 dpi thermal head (no anti-aliasing) and decode (Code 128 by default)."""
    doc = pypdfium2.PdfDocument(pdf)
    image = (
        doc[page]
        .render(scale=dpi / 72, no_smoothtext=True, no_smoothimage=True, no_smoothpath=True)
        .to_pil()
        .convert("L")
    )
    results = zxingcpp.read_barcodes(image, formats=formats)
    return [r.text for r in results]


def _upright(obj: dict) -> bool:
    return obj.get("object_type") != "char" or abs(obj["matrix"][1]) < 1e-6


def pdf_text(pdf: bytes, page: int | None = None, upright: bool = False) -> str:
    """Extracted text with whitespace runs (including no-break spaces) collapsed to one space;
    upright=True leaves out rotated text (a watermark) that would interleave with the rest."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        pages = doc.pages if page is None else [doc.pages[page]]
        if upright:
            pages = [p.filter(_upright) for p in pages]
        return " ".join(" ".join((p.extract_text() or "").split()) for p in pages)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (float(p.mediabox.width), float(p.mediabox.height))
        for p in PdfReader(io.BytesIO(pdf)).pages
    ]


def chars(pdf: bytes, page: int = 0) -> list[dict]:
    """Characters with PDF (bottom-left origin) coordinates x0, x1, y0, y1."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        p = doc.pages[page]
        return [
            {
                "text": c["text"],
                "x0": c["x0"],
                "x1": c["x1"],
                "rotated": abs(c["matrix"][1]) > 1e-6,
                "y0": p.height - c["bottom"],
                "y1": p.height - c["top"],
            }
            for c in p.chars
        ]


def font_sizes(pdf: bytes, text: str, page: int = 0) -> list[float]:
    """Font sizes of every glyph of each place `text` is printed on the page (spaces and line
    breaks ignored); empty if it is not printed there."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        glyphs = [c for c in doc.pages[page].chars if c["text"].strip()]
    printed = "".join(c["text"] for c in glyphs)
    wanted = "".join(text.split())
    sizes: list[float] = []
    start = printed.find(wanted)
    while start >= 0:
        sizes += [round(c["size"], 2) for c in glyphs[start : start + len(wanted)]]
        start = printed.find(wanted, start + 1)
    return sizes


def decode_qr(pdf: bytes, page: int = 0) -> list[str]:
    return decode_barcodes(pdf, page, formats=zxingcpp.BarcodeFormat.QRCode)
