"""Label for the container a compounded batch is stored in until it is dispensed."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from .barcodes import QUIET, barcode_width, draw_code128
from .data import BatchLabelData
from .document import DrawLabel, fmt_date, render_labels
from .errors import LabelDoesNotFit, LabelError
from .stocks import DEFAULT_BATCH_STOCK, Box, LabelStock, get_stock
from .text import TextBlock, draw_fitted, esc, fit_blocks

BAR_HEIGHT = 24.0
BARCODE_TEXT = 7.0
BAND = BAR_HEIGHT + BARCODE_TEXT + 2.0
GAP = 3.0


def _blocks(b: BatchLabelData, reprint: bool) -> list[TextBlock]:
    blocks = []
    if reprint:
        blocks.append(TextBlock("reprint", "REPRINT", size=7, bold=True, inverse=True))
    if b.pharmacy_name:
        blocks.append(TextBlock("pharmacy_name", esc(b.pharmacy_name, "pharmacy_name"), size=7))
    blocks += [
        TextBlock(
            "batch_number",
            f"BATCH {esc(b.batch_number, 'batch_number')}",
            size=12,
            bold=True,
            rule_after=True,
        ),
        TextBlock(
            "preparation", esc(b.preparation, "preparation"), size=9.5, bold=True, max_lines=2
        ),
        TextBlock(
            "strength",
            f"Strength: <b>{esc(b.strength, 'strength')}</b> · Made: "
            f"<b>{esc(f'{b.quantity_made} {b.quantity_unit}', 'quantity_made')}</b>",
            size=8,
        ),
        TextBlock(
            "beyond_use_date",
            f"Compounded {fmt_date(b.date_compounded)} · "
            f"<b>Do not use after {fmt_date(b.beyond_use_date)}</b>",
            size=8,
        ),
        TextBlock("storage", esc(b.storage, "storage"), size=7.5, max_lines=2),
        TextBlock(
            "compounded_by",
            f"Compounded by: <b>{esc(b.compounded_by, 'compounded_by')}</b> · "
            f"Checked by: <b>{esc(b.checked_by, 'checked_by')}</b>",
            size=7.5,
        ),
    ]
    return blocks


def plan_batch_label(b: BatchLabelData, stock: LabelStock, reprint: bool = False) -> DrawLabel:
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    bars = barcode_width(b.batch_number) - 2 * QUIET
    if bars > content.width:
        raise LabelDoesNotFit(
            "barcode",
            stock.code,
            f"{b.batch_number!r} needs {bars:.0f} pt of {content.width:.0f} pt",
        )
    fitted = fit_blocks(_blocks(b, reprint), content.width, content.height - BAND - GAP, stock.code)

    def draw(canvas: Canvas, box: Box) -> None:
        inner = box.inset(stock.padding)
        draw_fitted(canvas, fitted, inner.x, inner.top, inner.width)
        # Centred: the container label has no sidebar, and a centred code is easier to aim at.
        left = inner.x + (inner.width - bars) / 2 - QUIET
        text_y = inner.y + 1
        width = draw_code128(canvas, b.batch_number, left, text_y + BARCODE_TEXT + 1, BAR_HEIGHT)
        canvas.setFont("Helvetica", BARCODE_TEXT)
        canvas.drawCentredString(left + width / 2, text_y, b.batch_number)

    return draw


def render_batch_label(
    batch: BatchLabelData,
    stock: str | LabelStock = DEFAULT_BATCH_STOCK,
    start_position: int = 1,
    copies: int = 1,
    *,
    reprint: bool = False,
    watermark: str | None = None,
) -> bytes:
    if not isinstance(copies, int) or not 1 <= copies <= 500:
        raise LabelError(f"copies must be between 1 and 500, not {copies!r}")
    the_stock = get_stock(stock)
    the_stock.check_start_position(start_position)
    draw = plan_batch_label(batch, the_stock, reprint)
    return render_labels(
        the_stock, [draw] * copies, start_position, f"Batch label {batch.batch_number}", watermark
    )
