"""Label stocks as geometry data, and where each label lands on which page.

Coordinates are PDF points with the origin at the bottom-left of the page, as reportlab draws.
Sheet geometry (margins, pitch) is given from the top-left as label vendors publish it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import InvalidStartPosition, UnknownStock

INCH = 72.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def top(self) -> float:
        return self.y + self.height

    def inset(self, by: float) -> Box:
        return Box(self.x + by, self.y + by, self.width - 2 * by, self.height - 2 * by)

    def overlaps(self, other: Box) -> bool:
        # Touching edges is not overlap: Avery 5163 rows share an edge.
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.top
            and other.y < self.top
        )

    def contains(self, other: Box, tolerance: float = 1e-6) -> bool:
        return (
            other.x >= self.x - tolerance
            and other.y >= self.y - tolerance
            and other.right <= self.right + tolerance
            and other.top <= self.top + tolerance
        )


@dataclass(frozen=True)
class LabelStock:
    code: str
    description: str
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int = 1
    rows: int = 1
    left_margin: float = 0.0
    top_margin: float = 0.0
    h_pitch: float = 0.0
    v_pitch: float = 0.0
    corner_radius: float = 0.0
    # Thermal heads and laser sheets both lose the outer edge; nothing is drawn there.
    padding: float = 0.08 * INCH

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def page_size(self) -> tuple[float, float]:
        return (self.page_width, self.page_height)

    @property
    def is_sheet(self) -> bool:
        return self.per_page > 1

    def box(self, position: int) -> Box:
        """Label box for a 1-based position, numbered across then down as on the sheet."""
        self.check_start_position(position)
        row, column = divmod(position - 1, self.columns)
        x = self.left_margin + column * self.h_pitch
        top = self.page_height - self.top_margin - row * self.v_pitch
        return Box(x, top - self.label_height, self.label_width, self.label_height)

    def boxes(self) -> tuple[Box, ...]:
        return tuple(self.box(p) for p in range(1, self.per_page + 1))

    def check_start_position(self, position: object) -> int:
        if (
            not isinstance(position, int)
            or isinstance(position, bool)
            or not 1 <= position <= self.per_page
        ):
            raise InvalidStartPosition(position, self.code, self.per_page)
        return position

    def placements(self, count: int, start_position: int = 1) -> Iterator[tuple[int, Box]]:
        """(page index, box) for `count` labels, skipping the first start_position - 1 boxes."""
        self.check_start_position(start_position)
        for n in range(start_position - 1, start_position - 1 + count):
            page, slot = divmod(n, self.per_page)
            yield page, self.box(slot + 1)


THERMAL_4X2 = LabelStock(
    code="thermal-4x2",
    description="Thermal roll 4 × 2 in, one label per page (dispensing label)",
    page_width=4 * INCH,
    page_height=2 * INCH,
    label_width=4 * INCH,
    label_height=2 * INCH,
)
THERMAL_3X2 = LabelStock(
    code="thermal-3x2",
    description="Thermal roll 3 × 2 in, one label per page (vial / batch container)",
    page_width=3 * INCH,
    page_height=2 * INCH,
    label_width=3 * INCH,
    label_height=2 * INCH,
)
AVERY_5163 = LabelStock(
    code="avery-5163",
    description="US Letter sheet of 10 labels 2 × 4 in (Avery 5163), laser",
    page_width=8.5 * INCH,
    page_height=11 * INCH,
    label_width=4 * INCH,
    label_height=2 * INCH,
    columns=2,
    rows=5,
    left_margin=0.1625 * INCH,
    top_margin=0.5 * INCH,
    h_pitch=4.1875 * INCH,
    v_pitch=2 * INCH,
    corner_radius=0.125 * INCH,
    padding=0.1 * INCH,
)

STOCKS: Mapping[str, LabelStock] = MappingProxyType(
    {s.code: s for s in (THERMAL_4X2, THERMAL_3X2, AVERY_5163)}
)
DEFAULT_STOCK = THERMAL_4X2.code
DEFAULT_BATCH_STOCK = THERMAL_3X2.code


def get_stock(stock: str | LabelStock) -> LabelStock:
    if isinstance(stock, LabelStock):
        return stock
    try:
        return STOCKS[stock]
    except (KeyError, TypeError):
        raise UnknownStock(str(stock), tuple(STOCKS)) from None
