"""Safe markup for user text, and shrink-then-wrap fitting of text blocks into a box.

reportlab's Paragraph parses its input as mini-HTML, so every user value goes through esc();
only our own fixed markup (<b>, <i>) is left unescaped.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, unescape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from .errors import InvalidField, LabelDoesNotFit

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
_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


def clean(value: object, field: str, document: str = "label") -> str:
    """Plain text that the standard PDF fonts can print, or a refusal.

    The built-in fonts cover cp1252 only; anything else would print as a blank or a box,
    which on a patient name is a silent error.
    """
    text = _CONTROL.sub(" ", str(value)).translate(_SPELLED)
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


@functools.lru_cache(maxsize=1024)
def _style(field: str, bold: bool, align: str, inverse: bool, size: float) -> ParagraphStyle:
    # The same few styles serve every label: built once, not per block and size tried.
    return ParagraphStyle(
        field,
        fontName="Helvetica-Bold" if bold else "Helvetica",
        fontSize=size,
        leading=size * LEADING,
        alignment=_ALIGN[align],
        textColor=colors.white if inverse else colors.black,
        splitLongWords=1,
    )


_TAG = re.compile(r"<(/?)([a-z]+)[^>]*>")


@functools.lru_cache(maxsize=4096)
def _words_width(markup: str, bold: bool) -> float:
    """The summed width of the words alone (no spaces) at 1 pt; bold markup counted as bold.

    Each line holds at most the box's width of words, so lines >= this x size / width: a size
    whose bound already exceeds what is allowed cannot fit and need not be wrapped to know."""
    total, pos, bold_depth = 0.0, 0, 0
    for m in [*_TAG.finditer(markup), None]:
        end = m.start() if m else len(markup)
        chunk = unescape(markup[pos:end])
        font = "Helvetica-Bold" if (bold or bold_depth) else "Helvetica"
        total += sum(stringWidth(w, font, 1) for w in chunk.split())
        if m:
            if m.group(2) == "b":
                bold_depth += -1 if m.group(1) else 1
            pos = m.end()
    return total


def _lines_at_least(block: TextBlock, size: float, width: float) -> float:
    # A little under the bound (font metrics differ for italics), so rounding never skips a fit.
    return _words_width(block.markup, block.bold) * size / (width - 2 * block.pad) * 0.98


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

    def style(self, size: float) -> ParagraphStyle:
        return _style(self.field, self.bold, self.align, self.inverse, size)

    @property
    def pad(self) -> float:
        return 2.0 if (self.boxed or self.inverse) else 0.0


@dataclass(frozen=True)
class Fitted:
    block: TextBlock
    size: float
    paragraph: Paragraph
    lines: int
    text_height: float

    @property
    def height(self) -> float:
        rule = RULE_SPACE if self.block.rule_after else 0.0
        return self.block.space_before + self.text_height + 2 * self.block.pad + rule


WrapCache = dict[tuple[TextBlock, float, float], Fitted]


def _wrap(block: TextBlock, size: float, width: float, cache: WrapCache) -> Fitted:
    # Line breaking dominates render time; the same block is often tried at the same size twice.
    key = (block, size, width)
    if key not in cache:
        paragraph = Paragraph(block.markup, block.style(size))
        _, height = paragraph.wrap(width - 2 * block.pad, 10_000)
        cache[key] = Fitted(block, size, paragraph, len(paragraph.blPara.lines), height)
    return cache[key]


def _sizes(block: TextBlock) -> list[float]:
    sizes, size = [], block.size
    while size > block.min_size:
        sizes.append(size)
        size = round(size - STEP, 2)
    return [*sizes, block.min_size]


def _largest_within_lines(block: TextBlock, width: float, cache: WrapCache) -> Fitted:
    fitted = None
    sizes = _sizes(block)
    for size in sizes:
        if size != sizes[-1] and _lines_at_least(block, size, width) > block.max_lines:
            continue  # too long for its lines at this size: arithmetic, not line breaking
        fitted = _wrap(block, size, width, cache)
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
    cache: WrapCache | None = None,
) -> list[Fitted]:
    """Largest sizes at which all blocks fit the box, or LabelDoesNotFit.

    Each block first gets the largest size at which it keeps to its max_lines; then, if the
    stack is too tall, every block is scaled down together (never below its minimum) and
    allowed to wrap. min_factor limits that common scaling (0.85: no block below 85 % of its
    own size), for callers that have a better option than shrinking everything.
    """
    cache = {} if cache is None else cache
    fitted = [_largest_within_lines(b, width, cache) for b in blocks]
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
        fitted = [_wrap(b, s, width, cache) for b, s in zip(blocks, sizes, strict=True)]
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
    """Draw blocks top-down from `top`; returns the y below the last block."""
    y = top
    for f in fitted:
        b = f.block
        y -= b.space_before
        box_bottom = y - f.text_height - 2 * b.pad
        if b.inverse:
            canvas.setFillColor(colors.black)
            canvas.rect(x, box_bottom, width, y - box_bottom, stroke=0, fill=1)
            canvas.setFillColor(colors.black)
        if b.boxed:
            canvas.setLineWidth(0.8)
            canvas.roundRect(x, box_bottom, width, y - box_bottom, 2, stroke=1, fill=0)
        f.paragraph.drawOn(canvas, x + b.pad, box_bottom + b.pad)
        if b.rule_after:
            canvas.setLineWidth(0.5)
            canvas.line(x, box_bottom - RULE_SPACE / 2, x + width, box_bottom - RULE_SPACE / 2)
            box_bottom -= RULE_SPACE
        y = box_bottom
    return y
