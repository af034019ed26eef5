"""Line breaking of our small label markup by arithmetic, and drawing the lines on a canvas.

Label text is a handful of short blocks with only <b> and <i> in it (user values are escaped),
so reportlab's Paragraph (an HTML parser, fragments, a general line breaker) cost most of a
label's rendering time. A block is parsed once into words whose widths at 1 pt are known;
at any size the width of a word is that width times the size (the standard fonts' metrics are
linear), so breaking a block at a size is additions and comparisons, and a line is drawn with
one text object. Breaking follows Paragraph's rules: whitespace runs are one space, no-break
spaces join, a word wider than the line is split between characters.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from xml.sax.saxutils import unescape

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.textobject import PDFTextObject

_FONTS = {
    (False, False): "Helvetica",
    (True, False): "Helvetica-Bold",
    (False, True): "Helvetica-Oblique",
    (True, True): "Helvetica-BoldOblique",
}
_TAG = re.compile(r"<(/?)([bi])>")
_SPACES = re.compile(r"[ \t\r\n]+")  # not \xa0: a no-break space is part of its word
# A line may reach the width exactly; the tolerance keeps float noise from breaking it early.
_EPS = 1e-9

Run = tuple[str, str]  # (text, font name)


@dataclass(frozen=True, slots=True)
class Word:
    runs: tuple[Run, ...]
    width: float  # at 1 pt
    space: float  # width at 1 pt of the space that follows the word


@dataclass(frozen=True, slots=True)
class Line:
    runs: tuple[Run, ...]  # spaces between words included; one run per change of font
    width: float  # at 1 pt


@functools.lru_cache(maxsize=16384)
def _width(text: str, font: str) -> float:
    # Words recur from label to label ("Take", "capsule", "Rx#"); measuring one means
    # encoding it, so a cache hit costs a tenth of a measurement.
    return stringWidth(text, font, 1)


def _pieces(markup: str, bold: bool) -> list[tuple[str, str]]:
    """(text, font) pieces in order: the markup's tags switch the font, text is unescaped."""
    out: list[tuple[str, str]] = []
    pos, b_depth, i_depth = 0, 0, 0
    for m in _TAG.finditer(markup):
        if m.start() > pos:
            out.append(
                (unescape(markup[pos : m.start()]), _FONTS[bold or b_depth > 0, i_depth > 0])
            )
        step = -1 if m.group(1) else 1
        if m.group(2) == "b":
            b_depth += step
        else:
            i_depth += step
        pos = m.end()
    if pos < len(markup):
        out.append((unescape(markup[pos:]), _FONTS[bold or b_depth > 0, i_depth > 0]))
    return out


@dataclass(frozen=True, slots=True)
class Words:
    items: tuple[Word, ...]
    total: float  # the summed width of the words alone (no spaces) at 1 pt


@functools.lru_cache(maxsize=8192)
def words(markup: str, bold: bool) -> Words:
    """The block's words with their widths at 1 pt; a word may change font inside itself.

    Cached: the same warnings, headings and pharmacy lines recur on every label."""
    found: list[Word] = []
    runs: list[Run] = []
    width = 0.0

    def end_word(font: str) -> None:
        nonlocal runs, width
        if runs:
            found.append(Word(tuple(runs), width, _width(" ", font)))
        runs, width = [], 0.0

    for text, font in _pieces(markup, bold):
        parts = _SPACES.split(text)
        for n, part in enumerate(parts):
            if n:  # whitespace before this part ends the word in progress
                end_word(font)
            if part:
                runs.append((part, font))
                width += _width(part, font)
    end_word(_FONTS[bold, False])
    return Words(tuple(found), sum(w.width for w in found))


def _split_long(word: Word, first: float, limit: float) -> list[Word]:
    """A word wider than a whole line, cut between characters as Paragraph's splitLongWords
    does: the first piece fills what is left of the current line (it may be empty), the
    others fill whole lines, the last one goes on like a word."""
    pieces: list[Word] = []
    runs: list[Run] = []
    width, room = 0.0, first
    for text, font in word.runs:
        start = 0
        for i, ch in enumerate(text):
            w = _width(ch, font)
            if width + w > room + _EPS and (width > 0 or w <= limit + _EPS):
                if i > start:
                    runs.append((text[start:i], font))
                pieces.append(Word(tuple(runs), width, 0.0))
                runs, width, start, room = [], 0.0, i, limit
            width += w
        if start < len(text):
            runs.append((text[start:], font))
    pieces.append(Word(tuple(runs), width, word.space))
    return pieces


def count_lines(block: Words, width: float, size: float) -> int:
    """len(break_lines(...)) without building the lines: fitting tries many sizes."""
    limit = width / size
    count, used, gap, started = 0, 0.0, 0.0, False
    for word in block.items:
        fits = used + gap + word.width <= limit + _EPS if started else word.width <= limit + _EPS
        if not fits and word.width > limit + _EPS:
            first, *middle, word = _split_long(
                word, limit - used - gap if started else limit, limit
            )
            count += (1 if started or first.runs else 0) + len(middle)
            started, used = False, 0.0
        elif not fits:
            count, started, used = count + 1, False, 0.0
        used += gap + word.width if started else word.width
        started, gap = True, word.space
    return count + started


def break_lines(block: Words, width: float, size: float) -> list[Line]:
    """Greedy line breaking at `size` pt into lines of at most `width` pt."""
    limit = width / size  # compare in 1 pt units: one division instead of a product per word
    lines: list[Line] = []
    runs: list[Run] = []
    used, gap = 0.0, 0.0  # gap: the space owed before the next word on this line
    for word in block.items:
        fits = used + gap + word.width <= limit + _EPS if runs else word.width <= limit + _EPS
        if not fits and word.width > limit + _EPS:
            first, *middle, word = _split_long(word, limit - used - gap if runs else limit, limit)
            if first.runs:
                if runs:
                    runs.append((" ", runs[-1][1]))
                    used += gap
                runs += first.runs
                used += first.width
            if runs:
                lines.append(Line(_merged(runs), used))
            lines += [Line(_merged(m.runs), m.width) for m in middle]
            runs, used = [], 0.0
        elif not fits:
            lines.append(Line(_merged(runs), used))
            runs, used = [], 0.0
        if runs:
            runs.append((" ", runs[-1][1]))
            used += gap
        runs += word.runs
        used += word.width
        gap = word.space
    if runs:
        lines.append(Line(_merged(runs), used))
    return lines


def draw_lines(
    text: PDFTextObject,
    lines: list[Line],
    x: float,
    top: float,
    width: float,
    size: float,
    align: str,
    leading: float,
    current: tuple[str, float] | None = None,
) -> tuple[str, float] | None:
    """Lines top-down from `top` into a text object: the first baseline one font size below
    it, as Paragraph draws it. The caller sets the fill colour and draws the text object.

    `current` is the font and size the text object already has (returned for the next
    block), so a font is set only where it changes."""
    y = top - size
    for line in lines:
        offset = 0.0
        if align != "left":
            spare = width - line.width * size
            offset = spare / 2 if align == "center" else spare
        text.setTextOrigin(x + offset, y)
        for chunk, font in line.runs:
            if current != (font, size):
                text.setFont(font, size, leading)
                current = (font, size)
            # _textOut, as Paragraph draws: textOut would measure the chunk again only to
            # move a cursor that the next line's setTextOrigin replaces anyway.
            text._textOut(chunk)
        y -= leading
    return current


def _merged(runs: list[Run] | tuple[Run, ...]) -> tuple[Run, ...]:
    # One text operator per font change, not per word.
    out: list[Run] = []
    for chunk, font in runs:
        if out and out[-1][1] == font:
            out[-1] = (out[-1][0] + chunk, font)
        else:
            out.append((chunk, font))
    return tuple(out)
