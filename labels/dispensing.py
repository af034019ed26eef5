"""The patient's dispensing label, and a second label for what does not fit at a readable size."""

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
from .text import Fitted, TextBlock, draw_fitted, esc, fit_blocks, nobreak

# USP <17> asks for the warnings a patient needs; naltrexone blocks every opioid, including
# the ones patients do not think of as painkillers (cough and diarrhea medicines, maintenance).
WARN_OPIOID = (
    "Blocks opioids: do not take with opioid pain, cough or diarrhea medicines, "
    "methadone or buprenorphine"
)
WARN_DREAMS = "May cause vivid dreams or trouble sleeping"
WARN_BEDTIME = "Take at bedtime"
WARN_CHILDREN = "Keep out of reach of children"
_BEDTIME = re.compile(r"\bbed\s*-?\s*time\b|\b(at|before)\s+bed\b", re.IGNORECASE)

# USP <17> minimum type sizes: text may shrink to these and no further; what still does not
# fit moves to a second label, or the label is refused. Never smaller, never cut off.
DIRECTIONS_SIZE, DIRECTIONS_MIN = 11.0, 10.0
BUD_SIZE, BUD_MIN = 9.0, 8.0
WARNINGS_SIZE, WARNINGS_MIN = 8.0, 7.0

BAR_HEIGHT = 22.0
BARCODE_TEXT = 7.0
BAND = BAR_HEIGHT + BARCODE_TEXT + 2.0
MIN_SIDEBAR = 60.0
GAP = 3.0
WARNINGS_MIN_FACTOR = 0.85


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def auxiliary_warnings(directions: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The opioid warning first, then the formula's and the calculation's notes, then the rest.

    A warning already said by a longer one is dropped ("Take at bedtime" when the formula
    says "Take at bedtime unless directed otherwise."; "Shake well" and "Shake well.")."""
    wanted = [WARN_OPIOID, *(w.strip() for w in extra if w and w.strip())]
    if _BEDTIME.search(directions):
        wanted.append(WARN_BEDTIME)
    wanted += [WARN_DREAMS, WARN_CHILDREN]
    kept: list[str] = []
    for w in wanted:
        n = _norm(w)
        if any(n in _norm(k) for k in kept):
            continue
        shorter = [i for i, k in enumerate(kept) if _norm(k) in n]
        if shorter:  # the longer wording takes the place of the first one it covers
            kept[shorter[0]] = w
            kept = [k for i, k in enumerate(kept) if i not in shorter[1:]]
        else:
            kept.append(w)
    return tuple(kept)


def _qty(data: DispensingLabelData) -> str:
    return f"{data.quantity} {data.quantity_unit}"


def _secondary_blocks(d: DispensingLabelData) -> tuple[list[TextBlock], list[TextBlock]]:
    """Pharmacy and record details: above and below the patient's part; these move to the
    second label first when the patient's part needs the room."""
    p = d.pharmacy
    above = [
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
    below = [
        TextBlock(
            "prescriber",
            f"Prescriber: {esc(d.prescriber, 'prescriber')} · Batch/Lot: "
            f"<b>{esc(d.batch_number, 'batch_number')}</b>",
            size=7.5,
            max_lines=2,
        )
    ]
    return above, below


def _core_blocks(d: DispensingLabelData) -> list[TextBlock]:
    """What the patient needs to take the medicine safely; always on the first label."""
    blocks = []
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
            "directions",
            esc(d.directions, "directions"),
            size=DIRECTIONS_SIZE,
            min_size=DIRECTIONS_MIN,
            max_lines=3,
            space_before=1,
        ),
        TextBlock(
            "beyond_use_date",
            f"<b>Do not use after {fmt_date(d.beyond_use_date)}</b> · "
            f"<b>{esc(d.storage, 'storage')}</b>",
            size=BUD_SIZE,
            min_size=BUD_MIN,
            max_lines=2,
            space_before=1,
        ),
    ]
    return blocks


def _side_blocks(d: DispensingLabelData, reprint: bool) -> list[TextBlock]:
    blocks = [
        TextBlock(
            "pharmacist_initials",
            f"RPh: {esc(d.pharmacist_initials, 'pharmacist_initials')}"
            + (" (e-signed)" if d.pharmacist_esigned else ""),
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
    return TextBlock(
        "warnings",
        text,
        size=WARNINGS_SIZE,
        min_size=WARNINGS_MIN,
        max_lines=3,
        bold=True,
        boxed=True,
        space_before=1,
    )


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
    secondary: bool = True,
) -> _Plan:
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    value = rx_barcode_value(d.rx_number, d.fill_number)
    bars = barcode_width(value) - 2 * QUIET
    if bars > content.width:
        raise LabelDoesNotFit(
            "barcode", stock.code, f"{value!r} needs {bars:.0f} pt of {content.width:.0f} pt"
        )
    above, below = _secondary_blocks(d) if secondary else ([], [])
    main = [*above, *_core_blocks(d), *below]
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
        fit_blocks(main, content.width, main_height, stock.code, min_factor),
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


def _plan_second(
    d: DispensingLabelData,
    stock: LabelStock,
    warnings: Sequence[str],
    reprint: bool,
    secondary: bool,
) -> DrawLabel:
    """The second label on the same container: what moved off the first one."""
    content = Box(0, 0, stock.label_width, stock.label_height).inset(stock.padding)
    value = rx_barcode_value(d.rx_number, d.fill_number)
    blocks = []
    if reprint:
        blocks.append(TextBlock("reprint", "REPRINT", size=7, bold=True, inverse=True))
    title = "label 2 of 2" if secondary else "Auxiliary warnings"
    blocks.append(
        TextBlock(
            "patient_name",
            f"<b>Rx# {esc(value, 'rx_number')}</b> · {esc(d.patient_name, 'patient_name')}"
            f" · {nobreak(title)}",
            size=8,
            rule_after=True,
        )
    )
    if secondary:
        above, below = _secondary_blocks(d)
        blocks += [*above, *below]
    top = 12.0 if secondary else 14.0
    for i, warning in enumerate(warnings):
        blocks.append(
            TextBlock(
                "warnings",
                esc(warning, "warnings"),
                size=top,
                min_size=WARNINGS_MIN,
                max_lines=2,
                bold=True,
                inverse=i == 0,
                boxed=i > 0,
                align="center",
                space_before=2,
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
    """One drawing, or two when not everything fits at a readable size. Raises before drawing.

    In order: everything on one label (warnings only if the rest shrinks a little for them);
    the warnings on a second label; then the pharmacy and record details too, leaving the
    first label to the patient, the medicine, the directions and the BUD. If even that needs
    the directions or BUD below their USP <17> minimum, the label is refused.
    """
    warnings = auxiliary_warnings(d.directions, d.extra_warnings)
    try:
        plan = _plan_main(d, stock, warnings, reprint, WARNINGS_MIN_FACTOR)
        return [_draw_main(plan, stock)]
    except LabelDoesNotFit as with_warnings:
        if with_warnings.field == "barcode":
            raise
    try:
        plan = _plan_main(d, stock, (), reprint)
        return [_draw_main(plan, stock), _plan_second(d, stock, warnings, reprint, False)]
    except LabelDoesNotFit:
        pass
    plan = _plan_main(d, stock, (), reprint, secondary=False)
    return [_draw_main(plan, stock), _plan_second(d, stock, warnings, reprint, True)]


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
