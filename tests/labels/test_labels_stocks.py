import itertools

import pytest

from labels import (
    STOCKS,
    InvalidStartPosition,
    UnknownStock,
    get_stock,
    render_batch_label,
    render_dispensing_labels,
)
from labels.stocks import INCH, Box
from tests.labels.labels_samples import chars, make_batch, make_label, page_count, page_sizes

EXPECTED_PAGE = {
    "thermal-4x2": (288.0, 144.0),
    "thermal-3x2": (216.0, 144.0),
    "avery-5163": (612.0, 792.0),
}


def test_the_three_stocks_exist():
    assert set(STOCKS) == set(EXPECTED_PAGE)
    assert get_stock("avery-5163").per_page == 10


@pytest.mark.parametrize("code", sorted(EXPECTED_PAGE))
def test_pdf_page_is_exactly_the_stock_size(code):
    for pdf in (
        render_dispensing_labels([make_label()], stock=code),
        render_batch_label(make_batch(), stock=code),
    ):
        for width, height in page_sizes(pdf):
            assert width == pytest.approx(EXPECTED_PAGE[code][0], abs=0.01)
            assert height == pytest.approx(EXPECTED_PAGE[code][1], abs=0.01)


@pytest.mark.parametrize("code", sorted(EXPECTED_PAGE))
def test_every_box_inside_the_page_and_none_overlap(code):
    stock = get_stock(code)
    page = Box(0, 0, stock.page_width, stock.page_height)
    boxes = stock.boxes()
    assert len(boxes) == stock.per_page
    assert all(page.contains(b) for b in boxes)
    assert all(b.width == stock.label_width and b.height == stock.label_height for b in boxes)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def test_avery_5163_geometry_matches_the_template():
    stock = get_stock("avery-5163")
    first, second, third = stock.box(1), stock.box(2), stock.box(3)
    assert first.x == pytest.approx(0.1625 * INCH)
    assert first.top == pytest.approx(11 * INCH - 0.5 * INCH)
    assert second.x - first.x == pytest.approx(4.1875 * INCH)  # numbered across, then down
    assert first.top - third.top == pytest.approx(2 * INCH)
    assert stock.box(10).y == pytest.approx(0.5 * INCH)


@pytest.mark.parametrize("start", [1, 4, 10])
def test_start_position_skips_exactly_n_boxes(start):
    stock = get_stock("avery-5163")
    placed = list(stock.placements(12, start))
    assert placed[0] == (0, stock.box(start))
    expected = [divmod(n, 10) for n in range(start - 1, start - 1 + 12)]
    assert [(p, b) for p, b in placed] == [(pg, stock.box(s + 1)) for pg, s in expected]


def test_start_position_on_the_printed_sheet():
    labels = [make_label(patient_name=f"Patient Number{i}") for i in range(3)]
    pdf = render_dispensing_labels(labels, stock="avery-5163", start_position=4)
    stock = get_stock("avery-5163")
    found = chars(pdf)
    # each patient's label is followed by its warnings label in the next box
    for i, position in enumerate((4, 6, 8)):
        box = stock.box(position)
        digit = [
            c
            for c in found
            if c["text"] == str(i)
            and box.contains(
                Box(c["x0"], c["y0"], c["x1"] - c["x0"], c["y1"] - c["y0"]), tolerance=0.5
            )
        ]
        assert digit, f"Patient Number{i} is not inside box {position}"
    occupied = {
        p
        for p in range(1, 11)
        if any(
            stock.box(p).contains(Box(c["x0"], c["y0"], c["x1"] - c["x0"], c["y1"] - c["y0"]), 0.5)
            for c in found
        )
    }
    assert occupied == {4, 5, 6, 7, 8, 9}


def test_labels_run_onto_a_second_sheet():
    labels = [make_label(patient_name=f"P{i}") for i in range(4)]
    pdf = render_dispensing_labels(labels, stock="avery-5163", start_position=8)
    assert page_count(pdf) == 2


@pytest.mark.parametrize("bad", [0, 11, -1, "3", 2.0, True, None])
def test_start_position_off_the_sheet_is_refused(bad):
    with pytest.raises(InvalidStartPosition, match="choose 1 to 10"):
        render_dispensing_labels([make_label()], stock="avery-5163", start_position=bad)


def test_roll_stock_only_has_position_one():
    with pytest.raises(InvalidStartPosition):
        render_dispensing_labels([make_label()], stock="thermal-4x2", start_position=2)


def test_unknown_stock_is_refused():
    with pytest.raises(UnknownStock, match="dymo-99.*thermal-4x2"):
        render_dispensing_labels([make_label()], stock="dymo-99")
