"""The patient's dispensing label, with an auxiliary-warnings label when the warnings do not fit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from .barcodes import QUIET, barcode_width, draw_code128, rx_barcode_value
from .data import DispensingLabelData
from .document import DrawLabel, fmt_date, render_labels
from .errors import LabelDoesNotFit
from .stocks import DEFAULT_STOCK, Box, LabelStock, get_stock
from .text import Fitted, TextBlock, WrapCache, draw_fitted, esc, fit_blocks, nobreak

WARN_OPIOID = "Do not take with opioid pain medicines"
WARN_DREAMS = "May cause vivid dreams or trouble sleeping"
WARN_BEDTIME = "Take at bedtime"
_BEDTIME = re.compile(r"\bbed\s*-?\s*time\b|\b(at|before)\s+bed\b", re.IGNORECASE)

BAR_HEIGHT = 22.0
BARCODE_TEXT = 7.0
BAND = BAR_HEIGHT + BARCODE_TEXT + 2.0
MIN_SIDEBAR = 60.0
GAP = 3.0
WARNINGS_MIN_FACTOR = 0.85


def auxiliary_warnings(directions: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    warnings = [WARN_OPIOID, WARN_DREAMS]
    if _BEDTIME.search(directions):
        warnings.append(WARN_BEDTIME)
    warnings += [w for w in extra if w not in warnings]
    return tuple(warnings)


def _qty(data: DispensingLabelData) -> str:
    return f"{data.quantity} {data.quantity_unit}"


def _main_blocks(d: DispensingLabelData) -> list[TextBlock]:
    p = d.pharmacy
    blocks = [
        TextBlock(
            "pharmacy",
            f"<b>{esc(p.name, 'pharmacy.name')}</b> · {esc(p.address, 'pharmacy.address')}"
            f" · {nobreak('Tel ' + esc(p.phone, 'pharmacy.phone'))}",
            size=7,
            max_lines=2,
            rule_after=True,
        ),
        TextBlock(
            "rx_number",
            f"<b>Rx# {esc(d.rx_number, 'rx_number')}</b> · Fill {d.fill_number:02d}"
            f" · Filled {fmt_date(d.date_filled)} · Refills left: {d.refills_remaining}",
            size=8,
            space_before=1.5,
        ),
    ]
    if d.caption:
        blocks.append(TextBlock("caption", esc(d.caption, "caption"), size=8, bold=True))
    blocks += [
        TextBlock("patient_name", esc(d.patient_name, "patient_name"), size=11, bold=True),
        TextBlock(
            "preparation",
            f"<b>{esc(d.preparation, 'preparation')}</b> · Qty: {esc(_qty(d), 'quantity')}",
            size=9,
            max_lines=2,
        ),
        TextBlock(
            "directions", esc(d.directions, "directions"), size=10, max_lines=3, space_before=1
        ),
        TextBlock(
            "beyond_use_date",
            f"<b>Do not use after {fmt_date(d.beyond_use_date)}</b> · {esc(d.storage, 'storage')}",
            size=8,
            max_lines=2,
            space_before=1,
        ),
        TextBlock(
            "prescriber",
            f"Prescriber: {esc(d.prescriber, 'prescriber')} · Batch/Lot: "
            f"<b>{esc(d.batch_number, 'batch_number')}</b>",
            size=7.5,
        ),
    ]
    return blocks


def _side_blocks(d: DispensingLabelData, reprint: bool) -> list[TextBlock]:
    blocks = [
        TextBlock(
            "pharmacist_initials",
            f"RPh: {esc(d.pharmacist_initials, 'pharmacist_initials')}",
            size=8,
            bold=True,
        ),
        TextBlock(
            "compounded_statement",
            f"<i>{esc(d.compounded_statement, 'compounded_statement')}</i>",
            size=7,
            max_lines=2,
        ),
    ]
    if reprint:
        blocks.insert(0, TextBlock("reprint", "REPRINT", size=7, bold=True, inverse=True))
    return blocks


def _unbroken(warning: str) -> str:
    # Short warnings read as one unit; long ones must stay breakable or they would overflow.
    return nobreak(warning) if len(warning) <= 24 else warning


def _warning_block(warnings: Sequence[str]) -> TextBlock:
    text = "   ".join(f"•\xa0{_unbroken(esc(w, 'warnings'))}" for w in warnings)
    return TextBlock("warnings", text, size=7.5, max_lines=2, bold=True, boxed=True, space_before=1)


@dataclass(frozen=True)
class _Plan:
    main: list[Fitted]
    side: list[Fitted]
    side_width: float
    barcode: str


def _plan_main(
    d: DispensingLabelData,
    stock: LabelStock,
    warnings: Sequence[str],
    reprint: bool,
    min_factor: float = 0.0,
    cache: WrapCache | None = None,
) -> _Plan:
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    value = rx_barcode_value(d.rx_number, d.fill_number)
    bars = barcode_width(value) - 2 * QUIET
    if bars > content.width:
        raise LabelDoesNotFit(
            "barcode", stock.code, f"{value!r} needs {bars:.0f} pt of {content.width:.0f} pt"
        )
    main = _main_blocks(d)
    if warnings:
        main.append(_warning_block(warnings))
    side = _side_blocks(d, reprint)
    side_width = content.width - bars - 2 * GAP
    main_height = content.height - BAND - GAP
    side_fit: list[Fitted] = []
    if side_width >= MIN_SIDEBAR:
        try:
            side_fit = fit_blocks(side, side_width, BAND, stock.code)
        except LabelDoesNotFit:
            side_fit = []
    if not side_fit:
        main += side
        side_width = 0.0
    return _Plan(
        fit_blocks(main, content.width, main_height, stock.code, min_factor, cache),
        side_fit,
        side_width,
        value,
    )


def _draw_main(plan: _Plan, stock: LabelStock) -> DrawLabel:
    def draw(canvas: Canvas, box: Box) -> None:
        content = box.inset(stock.padding)
        draw_fitted(canvas, plan.main, content.x, content.top, content.width)
        text_y = content.y + 1
        bar_y = text_y + BARCODE_TEXT + 1
        width = draw_code128(canvas, plan.barcode, content.x - QUIET, bar_y, BAR_HEIGHT)
        canvas.setFont("Helvetica", BARCODE_TEXT)
        canvas.drawCentredString(content.x - QUIET + width / 2, text_y, plan.barcode)
        if plan.side:
            side_x = content.right - plan.side_width
            draw_fitted(canvas, plan.side, side_x, content.y + BAND, plan.side_width)

    return draw


def _plan_aux(
    d: DispensingLabelData, stock: LabelStock, warnings: Sequence[str], reprint: bool
) -> DrawLabel:
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    value = rx_barcode_value(d.rx_number, d.fill_number)
    blocks = []
    if reprint:
        blocks.append(TextBlock("reprint", "REPRINT", size=7, bold=True, inverse=True))
    blocks.append(
        TextBlock(
            "patient_name",
            f"<b>Rx# {esc(value, 'rx_number')}</b> · {esc(d.patient_name, 'patient_name')}"
            " · Auxiliary warnings",
            size=8,
            rule_after=True,
        )
    )
    for i, warning in enumerate(warnings):
        blocks.append(
            TextBlock(
                "warnings",
                esc(warning, "warnings"),
                size=14,
                max_lines=2,
                bold=True,
                inverse=i == 0,
                boxed=i > 0,
                align="center",
                space_before=3,
            )
        )
    fitted = fit_blocks(blocks, content.width, content.height, stock.code)

    def draw(canvas: Canvas, box: Box) -> None:
        inner = box.inset(stock.padding)
        draw_fitted(canvas, fitted, inner.x, inner.top, inner.width)

    return draw


def plan_dispensing_label(
    d: DispensingLabelData, stock: LabelStock, reprint: bool = False
) -> list[DrawLabel]:
    """One drawing, or two when the warnings need their own label. Raises before drawing.

    Warnings share the label only if the rest shrinks a little for them: directions at a
    readable size matter more than saving a second label.
    """
    warnings = auxiliary_warnings(d.directions, d.extra_warnings)
    cache: WrapCache = {}
    try:
        plan = _plan_main(d, stock, warnings, reprint, WARNINGS_MIN_FACTOR, cache)
        return [_draw_main(plan, stock)]
    except LabelDoesNotFit as with_warnings:
        if with_warnings.field == "barcode":
            raise
    plan = _plan_main(d, stock, (), reprint, cache=cache)
    return [_draw_main(plan, stock), _plan_aux(d, stock, warnings, reprint)]


def render_dispensing_labels(
    labels: Sequence[DispensingLabelData],
    stock: str | LabelStock = DEFAULT_STOCK,
    start_position: int = 1,
    *,
    reprint: bool = False,
    watermark: str | None = None,
    title: str | None = None,
) -> bytes:
    """One PDF of dispensing labels (plus auxiliary labels where needed), in order."""
    the_stock = get_stock(stock)
    the_stock.check_start_position(start_position)
    drawings = [dr for d in labels for dr in plan_dispensing_label(d, the_stock, reprint)]
    if title is None:
        rx = ", ".join(rx_barcode_value(d.rx_number, d.fill_number) for d in labels[:3])
        title = f"Dispensing labels {rx}{' …' if len(labels) > 3 else ''}"
    return render_labels(the_stock, drawings, start_position, title, watermark)
