"""Report output: charts drawn once with reportlab's chart library, shown as SVG in the page
and placed as vector drawings in the PDF; the same figures as CSV. No database here."""

from .charts import charts_for, svg
from .export import report_csv, report_pdf

__all__ = ["charts_for", "report_csv", "report_pdf", "svg"]
