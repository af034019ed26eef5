import subprocess
import sys
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from labels import (
    WARN_BEDTIME,
    WARN_CHILDREN,
    WARN_DREAMS,
    WARN_OPIOID,
    InvalidField,
    LabelDoesNotFit,
    LabelError,
    MissingField,
    auxiliary_warnings,
    get_stock,
    render_dispensing_labels,
    rx_barcode_value,
)
from labels.stocks import Box
from tests.labels.labels_samples import (
    chars,
    decode_barcodes,
    font_sizes,
    make_label,
    page_count,
    pdf_text,
)

LONG_NAME = "Maximiliana Alexandra Bartholomew-Featherstonehaugh-Worthington III"
LONG_DIRECTIONS = (
    "Take 1 capsule (4.5 mg) by mouth once daily at bedtime. If vivid dreams or trouble "
    "sleeping persist after two weeks, take in the morning instead. Swallow whole with water; "
    "do not open or crush the capsule."
)


def test_every_required_field_is_on_the_label():
    pdf = render_dispensing_labels([make_label()])
    text = pdf_text(pdf)
    for expected in (
        "Riverside Compounding Pharmacy",
        "1200 Main Street, Suite 4, Springfield, IL 62701",
        "(217) 555-0142",
        "Rx# RX000123",
        "Fill 01",
        "Maria Gonzalez",
        "Naltrexone HCl 4.5 mg capsules",
        "Qty: 30 capsules",
        "Take 1 capsule by mouth once daily at bedtime.",
        "Prescriber: Dr. Helen Park, MD",
        "Filled Mar 14, 2026",
        "Refills left: 2",
        "Batch/Lot: B260310-004",
        "Do not use after Sep 6, 2026",
        "Store at room temperature; protect from light.",
        "This is a compounded drug.",
        "RPh: JK",
        "RX000123-01",
    ):
        assert expected in text, expected


def test_warnings_are_printed_and_bedtime_follows_the_directions():
    text = pdf_text(render_dispensing_labels([make_label()]))
    for warning in (WARN_OPIOID, WARN_DREAMS, WARN_BEDTIME, WARN_CHILDREN):
        assert warning in text
    morning = make_label(directions="Take 1 capsule by mouth every morning.")
    assert WARN_BEDTIME not in pdf_text(render_dispensing_labels([morning]))
    assert auxiliary_warnings("take at bed time") == (
        WARN_OPIOID,
        WARN_BEDTIME,
        WARN_DREAMS,
        WARN_CHILDREN,
    )


def test_opioid_warning_names_every_kind_of_opioid_medicine():
    for word in ("pain", "cough", "diarrhea", "methadone", "buprenorphine"):
        assert word in WARN_OPIOID
    assert WARN_OPIOID in pdf_text(render_dispensing_labels([make_label()]))


def test_formula_and_engine_notes_reach_the_label_once_each():
    notes = ("Shake well.", "Shake well", "Take at bedtime unless directed otherwise.")
    warnings = auxiliary_warnings("Take 4.5 mL (4.5 mg) by mouth at bedtime.", notes)
    assert warnings == (
        WARN_OPIOID,
        "Shake well.",
        "Take at bedtime unless directed otherwise.",
        WARN_DREAMS,
        WARN_CHILDREN,
    )
    text = pdf_text(render_dispensing_labels([make_label(extra_warnings=notes)]))
    assert text.count("Shake well") == 1
    assert "Take at bedtime unless directed otherwise." in text


@pytest.mark.parametrize("stock", ["thermal-4x2", "thermal-3x2", "avery-5163"])
@pytest.mark.parametrize("directions", ["Take 1 capsule by mouth once daily at bedtime."])
def test_usp17_type_sizes_directions_10pt_bud_8pt(stock, directions):
    for label in (
        make_label(directions=directions),
        make_label(**LONGEST) if stock != "thermal-3x2" else make_label(patient_name=LONG_NAME),
    ):
        pdf = render_dispensing_labels([label], stock=stock)
        directions_sizes = font_sizes(pdf, label.directions)
        bud_sizes = font_sizes(pdf, "Do not use after Sep 6, 2026")
        assert directions_sizes and min(directions_sizes) >= 10, directions_sizes
        assert bud_sizes and min(bud_sizes) >= 8, bud_sizes
        storage = font_sizes(pdf, label.storage)
        assert storage and min(storage) >= 8
        for page in range(page_count(pdf)):
            for warning in (WARN_OPIOID, WARN_CHILDREN):
                assert min(font_sizes(pdf, warning, page) or [99]) >= 7


def test_directions_that_need_less_than_10pt_are_refused_not_shrunk():
    with pytest.raises(LabelDoesNotFit) as refused:
        render_dispensing_labels([make_label(directions=LONG_DIRECTIONS)], stock="thermal-3x2")
    assert refused.value.field == "directions"
    assert "10 pt" in str(refused.value)


@pytest.mark.parametrize("stock", ["thermal-4x2", "thermal-3x2", "avery-5163"])
def test_barcode_decodes_at_203_dpi(stock):
    label = make_label(rx_number="RX0001234", fill_number=12)
    pdf = render_dispensing_labels([label], stock=stock)
    assert decode_barcodes(pdf) == ["RX0001234-12"]
    assert rx_barcode_value("RX0001234", 12) == "RX0001234-12"


def test_user_text_is_escaped_not_interpreted_as_markup():
    name = "Ann <b>Bold</b> O'Brien & Co"
    directions = 'Take 1 <font color="red">capsule</font> & rest'
    pdf = render_dispensing_labels([make_label(patient_name=name, directions=directions)])
    text = pdf_text(pdf)
    assert name in text
    assert directions in text


def test_unprintable_characters_are_refused_not_dropped():
    with pytest.raises(InvalidField, match="patient_name.*U\\+674E"):
        render_dispensing_labels([make_label(patient_name="李 Wei")])
    ok = render_dispensing_labels([make_label(patient_name="Zoë Ñúñez-Müller")])
    assert "Zoë Ñúñez-Müller" in pdf_text(ok)


def _inside(pdf: bytes, page: int, box: Box) -> None:
    for c in chars(pdf, page):
        glyph = Box(c["x0"], c["y0"], c["x1"] - c["x0"], c["y1"] - c["y0"])
        assert box.contains(glyph, tolerance=0.5), (c["text"], glyph, box)


LONGEST = dict(
    patient_name=LONG_NAME,
    directions=LONG_DIRECTIONS,
    prescriber="Dr. Christopher Alexander Montgomery-Richardson, MD, PhD",
    storage="Store at controlled room temperature 20-25 °C in a tight, light-resistant "
    "container; keep out of reach of children.",
)


@pytest.mark.parametrize(
    ("stock", "fields"),
    [
        ("thermal-4x2", LONGEST),
        ("thermal-3x2", {"patient_name": LONG_NAME}),
    ],
)
def test_longest_realistic_text_shrinks_wraps_and_stays_inside(stock, fields):
    label = make_label(**fields)
    pdf = render_dispensing_labels([label], stock=stock)
    text = pdf_text(pdf)
    for value in fields.values():
        assert value in text
    assert WARN_OPIOID in text  # main label or the auxiliary label, never lost
    the_stock = get_stock(stock)
    for page in range(page_count(pdf)):
        _inside(pdf, page, the_stock.box(1).inset(the_stock.padding))
    assert decode_barcodes(pdf) == ["RX000123-01"]


def test_all_fields_stay_inside_every_box_of_a_sheet():
    labels = [make_label(patient_name=LONG_NAME, directions=LONG_DIRECTIONS)] * 3
    pdf = render_dispensing_labels(labels, stock="avery-5163", start_position=2)
    stock = get_stock("avery-5163")
    boxes = [b.inset(stock.padding) for b in stock.boxes()]
    for c in chars(pdf):
        glyph = Box(c["x0"], c["y0"], c["x1"] - c["x0"], c["y1"] - c["y0"])
        assert any(b.contains(glyph, tolerance=0.5) for b in boxes), c


def test_warnings_move_to_a_second_label_when_they_do_not_fit():
    pdf = render_dispensing_labels([make_label()], stock="thermal-4x2")
    assert page_count(pdf) == 2
    main, aux = pdf_text(pdf, 0), pdf_text(pdf, 1)
    assert "Take 1 capsule by mouth once daily at bedtime." in main
    assert "Riverside Compounding Pharmacy" in main and "Prescriber" in main
    assert WARN_OPIOID not in main
    for warning in (WARN_OPIOID, WARN_DREAMS, WARN_BEDTIME, WARN_CHILDREN):
        assert warning in aux
    assert "RX000123-01" in aux and "Maria Gonzalez" in aux


def test_pharmacy_and_record_details_move_next_when_the_directions_need_the_room():
    pdf = render_dispensing_labels([make_label(**LONGEST)], stock="thermal-4x2")
    main, second = pdf_text(pdf, 0), pdf_text(pdf, 1)
    assert LONG_DIRECTIONS in main and LONG_NAME in main
    assert "Do not use after Sep 6, 2026" in main
    assert "Prescriber" not in main and "Riverside" not in main
    for moved in ("Riverside Compounding Pharmacy", "Refills left: 2", "Batch/Lot: B260310-004"):
        assert moved in second
    assert "label 2 of 2" in second and WARN_OPIOID in second


def test_text_that_cannot_fit_is_refused_with_field_and_stock():
    with pytest.raises(LabelDoesNotFit) as refused:
        render_dispensing_labels(
            [make_label(directions="Take one capsule at bedtime. " * 40)], stock="thermal-3x2"
        )
    assert refused.value.field == "directions"
    assert refused.value.stock == "thermal-3x2"
    assert "'directions'" in str(refused.value) and "'thermal-3x2'" in str(refused.value)


def test_barcode_too_wide_for_the_stock_is_refused():
    with pytest.raises(LabelDoesNotFit, match="barcode"):
        render_dispensing_labels([make_label(rx_number="RXABCDEFGHIJKLMN")], stock="thermal-3x2")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("batch_number", "", MissingField),
        ("beyond_use_date", None, MissingField),
        ("pharmacist_initials", "  ", MissingField),
        ("beyond_use_date", "2026-09-06", InvalidField),
        ("beyond_use_date", date(2026, 3, 1), InvalidField),  # before the fill date
        ("refills_remaining", -1, InvalidField),
    ],
)
def test_bad_records_are_refused(field, value, error):
    with pytest.raises(error, match=field):
        make_label(**{field: value})


def test_nothing_to_print_is_refused():
    with pytest.raises(LabelError, match="Nothing to print"):
        render_dispensing_labels([])


def test_reprint_is_marked_and_output_is_deterministic():
    first = render_dispensing_labels([make_label()], reprint=True)
    assert "REPRINT" in pdf_text(first)
    assert "REPRINT" not in pdf_text(render_dispensing_labels([make_label()]))
    assert render_dispensing_labels([make_label()], reprint=True) == first


def test_watermark_and_title():
    pdf = render_dispensing_labels([make_label()], watermark="TEST - DO NOT USE")
    slanted = "".join(c["text"] for c in chars(pdf) if c["rotated"])
    assert slanted == "TEST - DO NOT USE"
    assert PdfReader(BytesIO(pdf)).metadata.title == "Dispensing labels RX000123-01"


def test_package_is_pure():
    code = (
        "import sys, labels; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('pharmacy', 'flask', 'sqlalchemy')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
