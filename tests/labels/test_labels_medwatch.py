"""The MedWatch 3500-style report renders from plain data and refuses a report without its
essentials."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from labels import MedWatchData, Pharmacy, render_medwatch
from labels.errors import MissingField

REPORT = MedWatchData(
    pharmacy=Pharmacy("Springfield Compounding", "1 Main St, Springfield", "555-0100"),
    report_id="C-00042",
    kind="Adverse event",
    serious=True,
    severity="Life-threatening or death",
    event_date=date(2026, 11, 20),
    received_on=date(2026, 11, 22),
    description="Severe hepatitis three weeks after starting LDN 4.5 mg.",
    product="Naltrexone (compounded) — LDN-CAP v1",
    reporter_name="Dr Helen Park",
    reporter_role="prescriber",
    patient_initials="ME",
    patient_age="65 years",
    patient_sex="female",
    batch_number="20261101-LDNCAP-003",
    strength="4.5 mg",
    beyond_use_date=date(2027, 1, 30),
    rx_number="RX000123",
    order_number="RX000123-01",
    directions="Take 1 capsule at bedtime.",
)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert (reader.pages[0].mediabox.width, reader.pages[0].mediabox.height) == (612, 792)
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def test_every_section_carries_its_facts():
    text = _text(render_medwatch(REPORT))
    for expected in (
        "MEDWATCH 3500-style report — Adverse event",
        "Report C-00042 · Springfield Compounding",
        "Patient identifier ME",
        "Age at time of event 65 years",
        "Outcome Serious — Life-threatening or death",
        "Date of event Nov 20, 2026",
        "Severe hepatitis three weeks after starting LDN 4.5 mg.",
        "Lot (batch) number 20261101-LDNCAP-003",
        "Strength 4.5 mg",
        "Beyond-use date Jan 30, 2027",
        "Prescription / order RX000123 RX000123-01",
        "Assessment not yet reviewed",
        "Name Dr Helen Park",
        "Reporter is prescriber",
    ):
        assert expected in text, expected


def test_a_report_without_a_description_is_refused():
    from dataclasses import replace

    with pytest.raises(MissingField) as exc:
        render_medwatch(replace(REPORT, description="  "))
    assert exc.value.field == "description"
