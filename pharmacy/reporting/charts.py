"""Chart drawings for a report (reportlab.graphics): one definition for the page and the PDF."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

WIDTH, HEIGHT = 520, 220
INK = colors.HexColor("#1c2430")
SERIES = [colors.HexColor("#0b5cad"), colors.HexColor("#1d6b35"), colors.HexColor("#8a5a00")]
BAD = colors.HexColor("#a11d1d")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    summary: str  # the figure in words, also the SVG's accessible description
    drawing: Drawing


def _bars(
    title: str, labels: list[str], series: list[list[float]], names: list[str], fills=None
) -> Drawing:
    d = Drawing(WIDTH, HEIGHT)
    d.add(String(10, HEIGHT - 16, title, fontName="Helvetica-Bold", fontSize=11, fillColor=INK))
    c = VerticalBarChart()
    c.x, c.y, c.width, c.height = 45, 40, WIDTH - 60, HEIGHT - 95
    c.data = [tuple(s) or (0,) for s in series]
    c.categoryAxis.categoryNames = labels or [""]
    c.categoryAxis.labels.fontSize = 9
    c.categoryAxis.labels.angle = 45 if len(labels) > 8 else 0
    c.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
    c.valueAxis.valueMin = 0
    c.valueAxis.labels.fontSize = 10
    top = max((max(s) for s in series if s), default=0)
    c.valueAxis.valueMax = max(top * 1.15, 1)
    c.valueAxis.valueStep = _step(c.valueAxis.valueMax)
    c.barSpacing = 1
    c.groupSpacing = 3
    for i in range(len(series)):
        c.bars[i].fillColor = (fills or SERIES)[i % len(fills or SERIES)]
        c.bars[i].strokeColor = None
    if fills and len(series) == 1:
        for j, colour in enumerate(fills):
            c.bars[(0, j)].fillColor = colour
    d.add(c)
    if len(names) > 1:
        legend = Legend()
        legend.x, legend.y = 12, HEIGHT - 30
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.fontSize = 10
        legend.colorNamePairs = list(zip(SERIES, names, strict=False))
        legend.dxTextSpace = 4
        legend.deltax = 75
        d.add(legend)
    return d


def _step(top: float) -> float:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if top / step <= 8:
            return step
    return top / 8


def _day_labels(days) -> list[str]:
    every = max(1, len(days) // 15)  # at most ~15 labels on the axis
    return [d.strftime("%d %b") if i % every == 0 else "" for i, d in enumerate(days)]


def charts_for(r) -> list[Chart]:
    days = _day_labels(r.days)
    orders, fills, out = sum(r.orders_per_day), sum(r.fills_per_day), sum(r.handouts_per_day)
    charts = [
        Chart(
            "daily",
            "Orders taken in, filled and handed out per day",
            f"{_n(orders, 'order')} taken in, {_n(fills, 'fill')} from batches, {out:,} handed out.",
            _bars(
                "Orders and dispensings per day",
                days,
                [r.orders_per_day, r.fills_per_day, r.handouts_per_day],
                ["Taken in", "Filled", "Handed out"],
            ),
        )
    ]
    buckets = [
        ("< 1 day", 0, 24),
        ("1-2 days", 24, 48),
        ("2-3 days", 48, 72),
        ("3-5 days", 72, 120),
        ("5-7 days", 120, 168),
        ("> 7 days", 168, 10**9),
    ]
    counts = [sum(1 for h in r.turnaround_hours if lo <= h < hi) for _n, lo, hi in buckets]
    med = r.turnaround_median
    charts.append(
        Chart(
            "turnaround",
            "Turnaround from intake to hand-out",
            "No orders handed out in the range."
            if med is None
            else f"Median {med / 24:.1f} days over {_n(len(r.turnaround_hours), 'order')}.",
            _bars(
                "Orders by turnaround (intake to hand-out)",
                [b[0] for b in buckets],
                [counts],
                ["Orders"],
            ),
        )
    )
    rate = r.qc_rate
    charts.append(
        Chart(
            "qc",
            "Quality checks passed",
            "No quality checks in the range."
            if rate is None
            else f"{rate:.1f} % passed ({r.qc_passed:,} passed, {r.qc_failed:,} failed).",
            _bars(
                "Quality check results",
                ["Passed", "Failed"],
                [[r.qc_passed, r.qc_failed]],
                ["Checks"],
                fills=[SERIES[1], BAD],
            ),
        )
    )
    charts.append(
        Chart(
            "strengths",
            "Strengths dispensed",
            "No fills in the range."
            if not r.strengths
            else ", ".join(f"{label}: {_n(n, 'fill')}" for label, n, _u in r.strengths) + ".",
            _bars(
                "Fills per strength",
                [s[0] for s in r.strengths],
                [[s[1] for s in r.strengths]],
                ["Fills"],
            ),
        )
    )
    lots = sum(n for _w, n in r.expiring)
    charts.append(
        Chart(
            "expiring",
            "Stock expiring in the next 12 weeks",
            f"{_n(lots, 'lot')} in stock expiring in the next 12 weeks.",
            _bars(
                "Lots expiring per week",
                [w.strftime("%d %b") for w, _n in r.expiring],
                [[n for _w, n in r.expiring]],
                ["Lots"],
                fills=None,
            ),
        )
    )
    return charts


def svg(chart: Chart) -> str:
    """The drawing as an inline <svg> element (no XML prolog) that scales to its box."""
    text = renderSVG.drawToString(chart.drawing)
    text = text[text.index("<svg") :]
    text = text.replace("<title>...</title>", f"<title>{_esc(chart.title)}</title>", 1)
    text = text.replace("<desc>...</desc>", f"<desc>{_esc(chart.summary)}</desc>", 1)
    text = _STYLE.sub(_attributes, text)
    return text.replace("<svg ", '<svg role="img" class="chart" ', 1)


_STYLE = re.compile(r'style="([^"]*)"')


def _attributes(m: re.Match) -> str:
    """style="fill: #0b5cad; stroke: none" -> fill="#0b5cad" stroke="none": the page's
    Content-Security-Policy refuses inline styles, not SVG presentation attributes."""
    pairs = [p.split(":", 1) for p in m.group(1).split(";") if ":" in p]
    return " ".join(f'{k.strip()}="{v.strip()}"' for k, v in pairs)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
