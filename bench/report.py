"""Collects figures and prints them as one table."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    name: str
    figure: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)

    def add(self, name, figure, reference="", ratio="", target="", ok: bool | None = None):
        verdict = "" if ok is None else ("ok" if ok else "MISS")
        self.rows.append(Row(name, figure, reference, ratio, target, verdict))

    def render(self) -> str:
        return render([self])


def render(reports: list[Report]) -> str:
    """One table for every database measured: each row says which one it is."""
    head = ["database", "measure", "figure", "reference (same run)", "ratio", "target", ""]
    cols = ["name", "figure", "reference", "ratio", "target", "verdict"]
    rows = [head] + [
        [report.title.split(":")[0], *(str(getattr(r, c)) for c in cols)]
        for report in reports
        for r in report.rows
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"- {report.title}" for report in reports] + [""]
    for i, row in enumerate(rows):
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
