import pytest

from labels import LabelDoesNotFit, LabelError, MissingField, get_stock, render_batch_label
from labels.stocks import Box
from tests.labels.labels_samples import (
    chars,
    decode_barcodes,
    decode_qr,
    font_sizes,
    make_batch,
    page_count,
    page_sizes,
    pdf_text,
)


@pytest.mark.parametrize("stock", ["thermal-3x2", "thermal-4x2", "avery-5163"])
def test_batch_label_fields_and_barcode(stock):
    pdf = render_batch_label(make_batch(), stock=stock)
    text = pdf_text(pdf)
    for expected in (
        "BATCH B260310-004",
        "Naltrexone HCl 4.5 mg capsules (Avicel PH-105, size 3)",
        "Strength: 4.5 mg per capsule",
        "Made: 120 capsules",
        "Compounded Mar 10, 2026",
        "Do not use after Sep 6, 2026",
        "Room temperature 20-25 °C, tight light-resistant container",
        "Compounded by: A. Rivera (AR)",
        "Checked by: J. Kim, RPh (JK)",
    ):
        assert expected in text, expected
    assert decode_qr(pdf) == ["B260310-004"]
    assert decode_barcodes(pdf) == []  # one symbol, the QR code
    assert min(font_sizes(pdf, "Do not use after Sep 6, 2026")) >= 8


@pytest.mark.parametrize(
    "number",
    ["B260310-004", "20261126-LDNCAP-003", "20261126-LDNCAPSULE1MGML2026V12-999"],
)
def test_every_batch_number_fits_the_3x2_roll_and_scans(number):
    pdf = render_batch_label(make_batch(batch_number=number), stock="thermal-3x2")
    assert page_count(pdf) == 1
    assert f"BATCH {number}" in pdf_text(pdf)
    assert decode_qr(pdf) == [number]
    inner = get_stock("thermal-3x2").box(1).inset(get_stock("thermal-3x2").padding)
    for c in chars(pdf):
        assert inner.contains(Box(c["x0"], c["y0"], c["x1"] - c["x0"], c["y1"] - c["y0"]), 0.5)


def test_labelling_notes_are_on_the_batch_label():
    pdf = render_batch_label(make_batch(notes=("Shake well.", "Protect from light")))
    assert "Shake well. · Protect from light" in pdf_text(pdf)


def test_default_stock_is_the_3x2_roll_and_text_stays_inside():
    pdf = render_batch_label(make_batch())
    assert page_sizes(pdf) == [(216.0, 144.0)]
    inner = get_stock("thermal-3x2").box(1).inset(get_stock("thermal-3x2").padding)
    for c in chars(pdf):
        assert inner.contains(Box(c["x0"], c["y0"], c["x1"] - c["x0"], c["y1"] - c["y0"]), 0.5)


def test_copies_and_start_position():
    pdf = render_batch_label(make_batch(), stock="avery-5163", start_position=9, copies=3)
    assert page_count(pdf) == 2
    assert pdf_text(pdf).count("BATCH B260310-004") == 3
    with pytest.raises(LabelError, match="copies"):
        render_batch_label(make_batch(), copies=0)


def test_bad_batch_records_are_refused():
    with pytest.raises(MissingField, match="checked_by"):
        make_batch(checked_by="")
    with pytest.raises(LabelDoesNotFit):
        render_batch_label(make_batch(storage="Keep cold. " * 80))


def test_reprint_mark():
    assert "REPRINT" in pdf_text(render_batch_label(make_batch(), reprint=True))
