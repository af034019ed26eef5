"""The pharmacy's own label for an ingredient container that came without a GS1 barcode.

The payload is the bracketed GS1 text ("(91)ING7(10)A123(17)270331") in a QR code, which any
2-D keyboard-wedge scanner types back as it is; the app reads it like a supplier's barcode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.pdfgen.canvas import Canvas

from .barcodes import draw_qr, qr_size
from .document import DrawLabel, fmt_date, render_labels
from .errors import LabelDoesNotFit, LabelError, MissingField
from .stocks import DEFAULT_BATCH_STOCK, Box, LabelStock, get_stock
from .text import TextBlock, draw_fitted, esc, fit_blocks

GAP = 3.0


@dataclass(frozen=True)
class LotLabelData:
    ingredient: str
    lot_number: str
    expiry: str  # "Mar 31, 2027" or "Mar 2027" for a month-only expiry
    received_on: date
    barcode: str  # bracketed GS1 text, from pharmacy.domain.gs1.lot_label_payload
    gtin: str = ""

    def __post_init__(self) -> None:
        for name in ("ingredient", "lot_number", "expiry", "barcode"):
            if not str(getattr(self, name)).strip():
                raise MissingField("lot label", name)


def _blocks(d: LotLabelData) -> list[TextBlock]:
    return [
        TextBlock("ingredient", f"<b>{esc(d.ingredient, 'ingredient')}</b>", size=10, max_lines=2),
        TextBlock("lot_number", f"LOT <b>{esc(d.lot_number, 'lot_number')}</b>", size=10),
        TextBlock("expiry", f"EXP <b>{esc(d.expiry, 'expiry')}</b>", size=10),
        TextBlock("received", f"Received {fmt_date(d.received_on)}", size=7),
        TextBlock(
            "gtin", f"GTIN {esc(d.gtin, 'gtin')}" if d.gtin else "Pharmacy lot label", size=7
        ),
    ]


def plan_lot_label(d: LotLabelData, stock: LabelStock) -> DrawLabel:
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    side = qr_size(d.barcode)
    if side > content.height:
        raise LabelDoesNotFit("barcode", stock.code, f"the QR code needs {side:.0f} pt")
    fitted = fit_blocks(_blocks(d), content.width - side - GAP, content.height, stock.code)

    def draw(canvas: Canvas, box: Box) -> None:
        inner = box.inset(stock.padding)
        draw_fitted(canvas, fitted, inner.x, inner.top, inner.width - side - GAP)
        draw_qr(canvas, d.barcode, inner.right - side + stock.padding / 2, inner.y)

    return draw


def render_lot_label(
    data: LotLabelData,
    stock: str | LabelStock = DEFAULT_BATCH_STOCK,
    start_position: int = 1,
    copies: int = 1,
) -> bytes:
    if not isinstance(copies, int) or not 1 <= copies <= 100:
        raise LabelError(f"copies must be between 1 and 100, not {copies!r}")
    the_stock = get_stock(stock)
    the_stock.check_start_position(start_position)
    draw = plan_lot_label(data, the_stock)
    return render_labels(the_stock, [draw] * copies, start_position, f"Lot label {data.lot_number}")
