"""Code 128 and QR codes sized for 203 dpi thermal printers.

Verified in the ecosystem notes: at 203 dpi Code 128 decodes only with bars of 3 printer dots
(≈ 1.06 pt); 1 and 2 dots fail. The left edge is snapped to the dot grid so every bar covers
whole dots instead of being smeared across a partial one.
"""

from __future__ import annotations

import functools
import math
import re

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.pdfgen.canvas import Canvas

from .errors import InvalidField

PRINTER_DPI = 203
DOT = 72.0 / PRINTER_DPI
MODULE = 3 * DOT
QUIET = 10 * MODULE  # Code 128 minimum quiet zone is 10 modules
_PAYLOAD = re.compile(r"^[A-Za-z0-9\-./]{1,20}$")
# A QR module of 4 printer dots (0.5 mm, readable by any 2-D scanner) and the 4-module quiet zone the standard asks for.
QR_MODULE = 4 * DOT
QR_QUIET_MODULES = 4
_QR_PAYLOAD = re.compile(r"^[A-Za-z0-9\-./]{1,60}$")


def rx_barcode_value(rx_number: str, fill_number: int) -> str:
    """The scan-to-verify payload printed on a dispensing label, e.g. 'RX000123-01'."""
    return f"{rx_number.strip()}-{fill_number:02d}"


def _symbol(value: str, height: float) -> Code128:
    if not _PAYLOAD.match(value):
        raise InvalidField(
            "barcode", "value", f"{value!r} must be 1-20 letters, digits, '-', '.' or '/'"
        )
    return Code128(
        value, barWidth=MODULE, barHeight=height, lquiet=QUIET, rquiet=QUIET, humanReadable=0
    )


@functools.lru_cache(maxsize=1024)
def barcode_width(value: str) -> float:
    """Width including both quiet zones."""
    return _symbol(value, 10).width


def snap(x: float) -> float:
    # Rounding up keeps the symbol inside the box the caller gave.
    return math.ceil(x / DOT - 1e-9) * DOT


def draw_code128(canvas: Canvas, value: str, x: float, y: float, height: float) -> float:
    """Draw with the quiet zone starting at (snapped) x; returns the width used."""
    symbol = _symbol(value, height)
    symbol.drawOn(canvas, snap(x), y)
    return symbol.width


# The bracketed GS1 text of a lot label: "(01)…(10)…(17)…" (GS1 AI 10 allows printable ASCII).
_GS1_PAYLOAD = re.compile(r"^\(\d{2,4}\)[ -~]{1,78}$")


def _qr(value: str) -> QrCodeWidget:
    if not (_QR_PAYLOAD.match(value) or _GS1_PAYLOAD.match(value)):
        raise InvalidField(
            "barcode", "value", f"{value!r} must be 1-60 letters, digits, '-', '.' or '/'"
        )
    widget = QrCodeWidget(value, barLevel="M", barBorder=QR_QUIET_MODULES)
    widget.qr.make()
    return widget


def qr_size(value: str) -> float:
    """Side of the square QR code including its quiet zone."""
    modules = _qr(value).qr.getModuleCount() + 2 * QR_QUIET_MODULES
    return modules * QR_MODULE


def draw_qr(canvas: Canvas, value: str, x: float, y: float) -> float:
    """Draw with the quiet zone's lower-left corner at (snapped) x, y; returns the side."""
    widget = _qr(value)
    side = qr_size(value)
    widget.barWidth = widget.barHeight = side
    drawing = Drawing(side, side)
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, snap(x), snap(y))
    return side
