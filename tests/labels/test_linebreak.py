"""Line breaking by arithmetic: the same lines as reportlab's Paragraph (which we replaced for
speed), never wider than the box, no word lost, reordered or drawn in the wrong font."""

from __future__ import annotations

import io
import random

import pdfplumber
import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from labels import render_dispensing_labels
from labels.linebreak import break_lines, count_lines, words
from labels.text import esc
from tests.labels.labels_samples import make_label

VOCABULARY = [
    "Take",
    "1",
    "capsule",
    "(4.5 mg)",
    "by",
    "mouth",
    "at",
    "bedtime.",
    "Naltrexone",
    "hydrochloride",
    "Maria-Guadalupe",
    "Fernández",
    "O'Brien",
    "·",
    "Rx#",
    "R&D",
    "<3",
    "WWWWWW",
    "iiii",
    "Do\xa0not\xa0use",
]


def _markup(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 30)):
        word = esc(rng.choice(VOCABULARY), "t")
        if rng.random() < 0.2:
            word = f"<b>{word}</b>"
        elif rng.random() < 0.1:
            word = f"<i>{word}</i>"
        out.append(word)
    return " ".join(out)


def _paragraph_lines(markup: str, bold: bool, width: float, size: float) -> list[str]:
    style = ParagraphStyle(
        "t",
        fontName="Helvetica-Bold" if bold else "Helvetica",
        fontSize=size,
        leading=size * 1.18,
        splitLongWords=1,
        spaceShrinkage=0,  # ours never squeezes the spaces to fit a word on a line
    )
    p = Paragraph(markup, style)
    p.wrap(width, 10_000)
    lines = []
    for line in p.blPara.lines:
        # fragments (markup with tags) or plain words
        text = "".join(f.text for f in line.words) if hasattr(line, "words") else " ".join(line[1])
        lines.append(" ".join(text.split()))
    return lines


def _our_lines(markup: str, bold: bool, width: float, size: float) -> list[str]:
    return [
        " ".join("".join(t for t, _ in line.runs).split())
        for line in break_lines(words(markup, bold), width, size)
    ]


@pytest.mark.parametrize("seed", range(60))
def test_same_lines_as_paragraph(seed):
    rng = random.Random(seed)
    markup, bold = _markup(rng), rng.random() < 0.3
    width, size = rng.choice([60.0, 120.0, 200.0, 276.48]), rng.choice([6.0, 7.5, 9.0, 11.0])
    ours = _our_lines(markup, bold, width, size)
    assert ours == _paragraph_lines(markup, bold, width, size)
    assert count_lines(words(markup, bold), width, size) == len(ours)


@pytest.mark.parametrize("seed", range(30))
def test_lines_fit_the_width_and_keep_every_word_in_order(seed):
    rng = random.Random(100 + seed)
    markup = _markup(rng)
    width, size = rng.choice([30.0, 80.0, 150.0]), rng.choice([6.0, 9.0, 14.0])
    lines = break_lines(words(markup, False), width, size)
    for line in lines:
        assert line.width * size <= width + 1e-6 or len(line.runs) == 1
    printed = "".join(t for line in lines for t, _ in line.runs)
    expected = "".join(t for w in words(markup, False).items for t, _ in w.runs)
    assert printed.replace(" ", "") == expected


def test_a_word_longer_than_the_line_is_cut_between_characters():
    word = "Bartholomew-Featherstonehaugh-Worthington"
    lines = break_lines(words(word, True), 60.0, 9.0)
    assert len(lines) > 2
    assert "".join(t for line in lines for t, _ in line.runs) == word
    assert all(line.width * 9.0 <= 60.0 + 1e-6 for line in lines)
    assert count_lines(words(word, True), 60.0, 9.0) == len(lines)


def test_markup_fonts_reach_the_pdf():
    pdf = render_dispensing_labels([make_label()])
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = doc.pages[0].chars
    text = "".join(c["text"] for c in chars)
    fonts = [c["fontname"] for c in chars]

    def font_of(snippet: str) -> set[str]:
        start = text.index(snippet)
        return {f.split("+")[-1] for f in fonts[start : start + len(snippet)]}

    assert font_of("RX000123") == {"Helvetica-Bold"}  # <b>Rx# …</b>
    assert font_of("Refills") == {"Helvetica"}
    assert font_of("compounded") == {"Helvetica-Oblique"}  # <i>…</i>
    assert font_of("Maria") == {"Helvetica-Bold"}  # a bold block


def test_escaped_characters_print_as_themselves():
    pdf = render_dispensing_labels([make_label(patient_name="R&D <Test> O'Brien")])
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert "R&D <Test> O'Brien" in doc.pages[0].extract_text()
