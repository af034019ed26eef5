"""Canvas set-up shared by every document, and laying labels out over a stock's pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from io import BytesIO

from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas

from .errors import LabelError
from .stocks import Box, LabelStock

CREATOR = "ldn-pharmacy labels"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DrawLabel = Callable[[Canvas, Box], None]


def fmt_date(d: date) -> str:
    # Spelled-out month: "03/04/2026" reads as two different dates to US and EU staff.
    # Built by hand so the process locale cannot change it.
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def new_canvas(buffer: BytesIO, pagesize: tuple[float, float], title: str) -> Canvas:
    # invariant=1 fixes the creation date and document id, so identical data gives identical bytes.
    canvas = Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=1)
    set_metadata(canvas, title)
    return canvas


def set_metadata(canvas: Canvas, title: str) -> None:
    canvas.setTitle(title)
    canvas.setCreator(CREATOR)
    canvas.setAuthor(CREATOR)


def draw_watermark(canvas: Canvas, box: Box, text: str) -> None:
    canvas.saveState()
    canvas.setFillColor(colors.Color(0, 0, 0, alpha=0.18))
    size = min(box.height * 0.3, box.width / max(len(text), 1) * 1.6)
    canvas.setFont("Helvetica-Bold", size)
    canvas.translate(box.x + box.width / 2, box.y + box.height / 2)
    canvas.rotate(20 if box.width > box.height * 1.5 else 45)
    canvas.drawCentredString(0, -size / 3, text)
    canvas.restoreState()


def render_labels(
    stock: LabelStock,
    labels: Sequence[DrawLabel],
    start_position: int,
    title: str,
    watermark: str | None = None,
) -> bytes:
    if not labels:
        raise LabelError("Nothing to print: no labels were given")
    placements = list(stock.placements(len(labels), start_position))
    buffer = BytesIO()
    canvas = new_canvas(buffer, stock.page_size, title)
    page = 0
    for (label_page, box), draw in zip(placements, labels, strict=True):
        if label_page != page:
            canvas.showPage()
            page = label_page
        canvas.saveState()
        draw(canvas, box)
        canvas.restoreState()
        if watermark:
            draw_watermark(canvas, box, watermark)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def numbered_canvas(footer: str, margin: float) -> type[Canvas]:
    """A canvas class for platypus that writes 'Page x of y' once the page count is known."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            width = self._pagesize[0]
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont("Helvetica", 8)
                self.drawString(margin, margin / 2, footer)
                self.drawRightString(width - margin, margin / 2, f"Page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas
