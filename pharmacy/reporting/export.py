"""The report as PDF (reportlab platypus, the charts as vector drawings) and as CSV."""

from __future__ import annotations

import csv
import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from .charts import charts_for


def report_pdf(r, pharmacy_name: str) -> bytes:
    buf = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Pharmacy report {r.since} to {r.until}",
    )
    story = [
        Paragraph(f"{_x(pharmacy_name)}: report", styles["Title"]),
        Paragraph(f"From {r.since:%d %b %Y} to {r.until:%d %b %Y}", styles["Heading3"]),
    ]
    for chart in charts_for(r):
        story.append(
            KeepTogether(
                [
                    Paragraph(_x(chart.title), styles["Heading2"]),
                    Paragraph(_x(chart.summary), styles["BodyText"]),
                    chart.drawing,
                    Spacer(1, 4 * mm),
                ]
            )
        )
    rows = [["Day", "Taken in", "Filled", "Handed out"]] + [
        [d.isoformat(), f"{a:,}", f"{b:,}", f"{c:,}"]
        for d, a, b, c in zip(
            r.days, r.orders_per_day, r.fills_per_day, r.handouts_per_day, strict=True
        )
    ]
    story += [Paragraph("Per day", styles["Heading2"]), Table(rows, repeatRows=1)]
    doc.build(story)
    return buf.getvalue()


def _x(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def report_csv(r) -> str:
    """One section per figure, each with its own header row, so a spreadsheet reads it."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["report", "from", r.since.isoformat(), "to", r.until.isoformat()])
    w.writerow([])
    w.writerow(["day", "orders_taken_in", "filled_from_batches", "handed_out"])
    for row in zip(r.days, r.orders_per_day, r.fills_per_day, r.handouts_per_day, strict=True):
        w.writerow([row[0].isoformat(), *row[1:]])
    w.writerow([])
    w.writerow(["turnaround_median_hours", "orders_handed_out"])
    med = r.turnaround_median
    w.writerow(["" if med is None else f"{med:.1f}", len(r.turnaround_hours)])
    w.writerow([])
    w.writerow(["qc_passed", "qc_failed", "qc_pass_rate_percent"])
    rate = r.qc_rate
    w.writerow([r.qc_passed, r.qc_failed, "" if rate is None else f"{rate:.1f}"])
    w.writerow([])
    w.writerow(["strength", "fills", "units_dispensed"])
    for label, n, units in r.strengths:
        w.writerow([label, n, f"{units.normalize():f}"])
    w.writerow([])
    w.writerow(["lots_expiring_week_of", "lots"])
    for week, n in r.expiring:
        w.writerow([week.isoformat(), n])
    return out.getvalue()
