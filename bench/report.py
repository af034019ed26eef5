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
        head = Row("measure", "figure", "reference (same run)", "ratio", "target", "")
        rows = [head, *self.rows]
        cols = ["name", "figure", "reference", "ratio", "target", "verdict"]
        widths = {c: max(len(str(getattr(r, c))) for r in rows) for c in cols}
        lines = [self.title, ""]
        for i, r in enumerate(rows):
            lines.append("  ".join(str(getattr(r, c)).ljust(widths[c]) for c in cols).rstrip())
            if i == 0:
                lines.append("  ".join("-" * widths[c] for c in cols))
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
