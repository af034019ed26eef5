"""Safe exports: spreadsheet cells that cannot run as formulas, file names that cannot break
the Content-Disposition header or name a path."""

from __future__ import annotations

import re
from typing import Any

# A cell starting with one of these is read as a formula by Excel/LibreOffice/Sheets
# (=HYPERLINK(...), +cmd|..., @SUM, and tab/CR variants): "CSV injection".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The value as it should go into a CSV cell: text that a spreadsheet would run as a
    formula gets a leading apostrophe (shown as text). Numbers are left alone."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if re.fullmatch(r"-\d+(\.\d+)?", value):
        return value  # a plain negative number, not a formula
    return "'" + value


def safe_filename(name: str, default: str = "export") -> str:
    """ASCII letters, digits, '.', '_' and '-' only; no leading dots; at most 100 chars."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:100]
    return cleaned or default
