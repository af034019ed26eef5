"""Safe markup for user text, and shrink-then-wrap fitting of text blocks into a box.

A block's markup knows <b> and <i> (see linebreak.py), so every user value goes through esc():
a name containing "<b>" prints as written instead of turning the rest of the line bold; only
our own fixed markup is left unescaped.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas

from .errors import InvalidField, LabelDoesNotFit
from .linebreak import Line, break_lines, count_lines, draw_lines, words

MIN_SIZE = 6.0
LEADING = 1.18
STEP = 0.5
RULE_SPACE = 2.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Symbols common in formulas and directions that the built-in fonts lack, spelled in ones they have.
_SPELLED = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2010": "-",
        "\u2011": "-",
        "\u2192": "->",
        "\u2190": "<-",
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2248": "~",
        "\u2260": "!=",
        "\u2009": " ",  # thin space
        "\u202f": "\xa0",  # narrow no-break space
        "\u2032": "'",
        "\u2033": '"',
    }
)


def clean(value: object, field: str, document: str = "label") -> str:
    """Plain text that the standard PDF fonts can print, or a refusal.

    The built-in fonts cover cp1252 only; anything else would print as a blank or a box,
    which on a patient name is a silent error.
    """
    text = _CONTROL.sub(" ", str(value)).translate(_SPELLED)
    if text.isascii():
        return text
    for ch in text:
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            raise InvalidField(
                document,
                field,
                f"contains {ch!r} (U+{ord(ch):04X}), which the label font cannot print",
            ) from None
    return text


def esc(value: object, field: str, document: str = "label") -> str:
    return escape(clean(value, field, document))


def nobreak(markup: str) -> str:
    """Keep a short run (a phone number, a bullet and its first word) on one line."""
    return markup.replace(" ", "\xa0")


def _lines_at_least(block: TextBlock, size: float, width: float) -> float:
    # A little under the bound (font metrics differ for italics), so rounding never skips a fit.
    return words(block.markup, block.bold).total * size / (width - 2 * block.pad) * 0.98


@dataclass(frozen=True)
class TextBlock:
    field: str
    markup: str  # user parts already passed through esc()
    size: float
    min_size: float = MIN_SIZE
    max_lines: int = 1  # lines wanted before the block is shrunk further
    bold: bool = False
    align: str = "left"
    space_before: float = 0.0
    inverse: bool = False  # white on black, for marks that must stand out on a thermal print
    boxed: bool = False
    rule_after: bool = False

    @property
    def pad(self) -> float:
        return 2.0 if (self.boxed or self.inverse) else 0.0


@dataclass(frozen=True)
class Fitted:
    block: TextBlock
    size: float
    lines: int
    text_height: float
    text_width: float  # the width the lines were broken for (the box less its padding)

    @functools.cached_property
    def rows(self) -> list[Line]:
        # Fitting only counts lines; the lines themselves are built once, for drawing.
        return break_lines(words(self.block.markup, self.block.bold), self.text_width, self.size)

    @property
    def height(self) -> float:
        rule = RULE_SPACE if self.block.rule_after else 0.0
        return self.block.space_before + self.text_height + 2 * self.block.pad + rule


# Cached across labels, not per label: the pharmacy line, the warnings, the statement and
# the pharmacist's line are the same block on every label of a job, and a block is tried
# at the same size again when the label is planned a second time without the warnings.
@functools.lru_cache(maxsize=16384)
def _wrap(block: TextBlock, size: float, width: float) -> Fitted:
    avail = width - 2 * block.pad
    lines = count_lines(words(block.markup, block.bold), avail, size)
    return Fitted(block, size, lines, lines * size * LEADING, avail)


def _sizes(block: TextBlock) -> list[float]:
    sizes, size = [], block.size
    while size > block.min_size:
        sizes.append(size)
        size = round(size - STEP, 2)
    return [*sizes, block.min_size]


@functools.lru_cache(maxsize=4096)
def _largest_within_lines(block: TextBlock, width: float) -> Fitted:
    fitted = None
    sizes = _sizes(block)
    for size in sizes:
        if size != sizes[-1] and _lines_at_least(block, size, width) > block.max_lines:
            continue  # too long for its lines at this size: arithmetic, not line breaking
        fitted = _wrap(block, size, width)
        if fitted.lines <= block.max_lines:
            return fitted
    assert fitted is not None
    return fitted  # at the minimum size, wrapped onto more lines than wanted


def fit_blocks(
    blocks: list[TextBlock],
    width: float,
    height: float,
    stock: str,
    min_factor: float = 0.0,
) -> list[Fitted]:
    """Largest sizes at which all blocks fit the box, or LabelDoesNotFit.

    Each block first gets the largest size at which it keeps to its max_lines; then, if the
    stack is too tall, every block is scaled down together (never below its minimum) and
    allowed to wrap. min_factor limits that common scaling (0.85: no block below 85 % of its
    own size), for callers that have a better option than shrinking everything.
    """
    fitted = [_largest_within_lines(b, width) for b in blocks]
    if sum(f.height for f in fitted) <= height:
        return fitted
    base = [f.size for f in fitted]
    factor = 1.0
    while True:
        factor = round(factor - 0.05, 2)
        if factor < min_factor:
            need = sum(f.height for f in fitted)
            raise LabelDoesNotFit(
                "label", stock, f"needs {need:.0f} pt of height; has {height:.0f} pt"
            )
        sizes = [
            max(b.min_size, _floor_step(s * factor)) for b, s in zip(blocks, base, strict=True)
        ]
        if not all(s <= b.min_size for b, s in zip(blocks, sizes, strict=True)) and (
            _height_at_least(blocks, sizes, width) > height
        ):
            continue  # cannot fit at these sizes whatever the line breaks: skip wrapping
        fitted = [_wrap(b, s, width) for b, s in zip(blocks, sizes, strict=True)]
        if sum(f.height for f in fitted) <= height:
            return fitted
        if all(s <= b.min_size for b, s in zip(blocks, sizes, strict=True)):
            break
    need = sum(f.height for f in fitted)
    culprit = max(fitted, key=lambda f: (f.lines - f.block.max_lines, f.height))
    raise LabelDoesNotFit(
        culprit.block.field,
        stock,
        f"the text needs {need:.0f} pt of height but the label has {height:.0f} pt; "
        f"{culprit.block.field!r} wraps to {culprit.lines} lines at {culprit.size:g} pt",
    )


def _height_at_least(blocks: list[TextBlock], sizes: list[float], width: float) -> float:
    total = 0.0
    for b, size in zip(blocks, sizes, strict=True):
        lines = max(1, math.ceil(_lines_at_least(b, size, width) - 1e-9))
        rule = RULE_SPACE if b.rule_after else 0.0
        total += b.space_before + lines * size * LEADING + 2 * b.pad + rule
    return total * 0.98


def _floor_step(size: float) -> float:
    return int(size / STEP) * STEP


def draw_fitted(canvas: Canvas, fitted: list[Fitted], x: float, top: float, width: float) -> float:
    """Draw blocks top-down from `top`; returns the y below the last block.

    Boxes and rules first, then all the text in one text object (a text object per block
    cost more than the text itself)."""
    text = canvas.beginText()
    y, colour, font = top, None, None
    for f in fitted:
        b = f.block
        y -= b.space_before
        box_bottom = y - f.text_height - 2 * b.pad
        if b.inverse:
            canvas.setFillColor(colors.black)
            canvas.rect(x, box_bottom, width, y - box_bottom, stroke=0, fill=1)
        if b.boxed:
            canvas.setLineWidth(0.8)
            canvas.roundRect(x, box_bottom, width, y - box_bottom, 2, stroke=1, fill=0)
        if b.rule_after:
            canvas.setLineWidth(0.5)
            canvas.line(x, box_bottom - RULE_SPACE / 2, x + width, box_bottom - RULE_SPACE / 2)
        if colour is not (colour := colors.white if b.inverse else colors.black):
            text.setFillColor(colour)
        font = draw_lines(
            text,
            f.rows,
            x + b.pad,
            y - b.pad,
            f.text_width,
            f.size,
            b.align,
            f.size * LEADING,
            font,
        )
        y = box_bottom - (RULE_SPACE if b.rule_after else 0.0)
    canvas.drawText(text)
    canvas.setFillColor(colors.black)
    return y
