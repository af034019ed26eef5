"""Label for the container a compounded batch is stored in until it is dispensed.

The batch number is encoded as a QR code: a Code 128 of a full batch number
(20261126-LDNCAP-001) needs more than a 3 in label at 203 dpi, while the QR code of any
batch number up to 60 characters fits in a corner of it.
"""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from .barcodes import draw_qr, qr_size
from .data import BatchLabelData
from .document import DrawLabel, fmt_date, render_labels
from .errors import LabelDoesNotFit, LabelError
from .stocks import DEFAULT_BATCH_STOCK, Box, LabelStock, get_stock
from .text import TextBlock, draw_fitted, esc, fit_blocks, nobreak

GAP = 3.0
BUD_MIN = 8.0


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
            max_lines=1,
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
            max_lines=2,
        ),
        TextBlock(
            "beyond_use_date",
            f"Compounded {fmt_date(b.date_compounded)} · "
            f"<b>{nobreak('Do not use after ' + fmt_date(b.beyond_use_date))}</b>",
            size=8.5,
            min_size=BUD_MIN,
            max_lines=2,
        ),
        TextBlock("storage", f"<b>{esc(b.storage, 'storage')}</b>", size=7.5, max_lines=2),
    ]
    if b.notes:
        notes = " · ".join(esc(n, "notes") for n in b.notes)
        blocks.append(TextBlock("notes", notes, size=7.5, bold=True, max_lines=2))
    return blocks


def _signers(b: BatchLabelData) -> list[TextBlock]:
    return [
        TextBlock(
            "compounded_by",
            f"Compounded by: <b>{esc(b.compounded_by, 'compounded_by')}</b>",
            size=7.5,
            max_lines=2,
        ),
        TextBlock(
            "checked_by",
            f"Checked by: <b>{esc(b.checked_by, 'checked_by')}</b>",
            size=7.5,
            max_lines=2,
        ),
    ]


def plan_batch_label(b: BatchLabelData, stock: LabelStock, reprint: bool = False) -> DrawLabel:
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    side = qr_size(b.batch_number)
    if side > content.height / 2:
        raise LabelDoesNotFit(
            "barcode", stock.code, f"the QR code of {b.batch_number!r} needs {side:.0f} pt"
        )
    # The QR code sits in the bottom-right corner; who made and checked it runs beside it.
    signers = fit_blocks(_signers(b), content.width - side - GAP, side, stock.code)
    fitted = fit_blocks(_blocks(b, reprint), content.width, content.height - side, stock.code)

    def draw(canvas: Canvas, box: Box) -> None:
        inner = box.inset(stock.padding)
        draw_fitted(canvas, fitted, inner.x, inner.top, inner.width)
        used = sum(f.height for f in signers)
        draw_fitted(canvas, signers, inner.x, inner.y + (side + used) / 2, inner.width - side)
        # The quiet zone may run into the padding: it is blank paper either way.
        draw_qr(canvas, b.batch_number, inner.right - side + stock.padding / 2, inner.y)

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
