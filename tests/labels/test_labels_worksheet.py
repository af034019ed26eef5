import re

from pypdf import PdfReader

from labels import render_worksheet
from tests.labels.labels_samples import make_worksheet, page_count, page_sizes, pdf_text


def test_short_record_has_every_section():
    pdf = render_worksheet(make_worksheet(qc_rows=10))
    text = pdf_text(pdf)
    for expected in (
        "Compounding record — batch B260310-004",
        "Naltrexone HCl 4.5 mg capsules — version 3",
        "USP <795> other nonaqueous: 180 days",
        "Potency correction",
        "540.0 mg / 0.995 (CoA assay, as is)",
        "542.7 mg",
        "NX-24-118",
        "May 31, 2027",
        "21060.1",
        "BAL-02",
        "mean net fill 180.1 mg",
        "weight check result: FAIL",
        "Appearance",
        "Compounded by",
        "Checked by",
        "Released by",
        "Unit 5 outside limits, discarded.",
    ):
        assert expected in text, expected
    assert all(size == (612.0, 792.0) for size in page_sizes(pdf))


def test_long_record_flows_over_pages_with_numbering_and_header():
    pdf = render_worksheet(make_worksheet(qc_rows=150, step_rows=100))
    total = page_count(pdf)
    assert total >= 4
    for i in range(total):
        text = pdf_text(pdf, i)
        assert f"Page {i + 1} of {total}" in text
        assert "Batch B260310-004" in text
        assert "COMPOUNDING RECORD" in text
    everything = pdf_text(pdf)
    rows = re.findall(r"\b(\d+) \d+\.0 \d+\.0 (?:PASS|FAIL)\b", everything)
    assert [int(r) for r in rows] == list(range(1, 151))
    assert "Check 99" in everything
    assert "Released by" in pdf_text(pdf, total - 1)


def test_metadata_and_determinism():
    pdf = render_worksheet(make_worksheet())
    assert PdfReader(__import__("io").BytesIO(pdf)).metadata.title == (
        "Compounding record B260310-004"
    )
    assert render_worksheet(make_worksheet()) == pdf


def test_watermark_on_every_page():
    pdf = render_worksheet(make_worksheet(qc_rows=120), watermark="TRAINING")
    assert page_count(pdf) > 1
    assert "TRAINING" in PdfReader(__import__("io").BytesIO(pdf)).pages[-1].extract_text()
