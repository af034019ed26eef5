"""What a person reads: no rule codes ("R12:"), no internal keys (`oral_solution`), and
quantities with thousands separators. Applied where messages and values reach a page."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Flask

from ..domain.calc.data import BUD_CATEGORIES
from ..domain.formula_rules import DOSAGE_FORMS

TERMS: dict[str, str] = {
    **{key: label.lower() for key, (label, _kind) in DOSAGE_FORMS.items()},
    "capsule": "capsules",
    **{key: c.label for key, c in BUD_CATEGORIES.items()},
    "as_is": "as is",
    "capsule_shell": "capsule shell",
    "in_progress": "in progress",
    "awaiting_check": "awaiting check",
    "in_compounding": "in compounding",
    "quality_check": "quality check",
    "on_hold": "on hold",
    "rx_order": "order",
}
_RULE_CODE = re.compile(r"\(?\bR\d{1,2}\)?:\s*")
_KEY = re.compile(r"(?<![\w/.-])[a-z]+(?:_[a-z0-9]+)+(?![\w/.-])")


def term(key: str | None) -> str:
    """An internal key in words: 'oral_solution' -> 'oral solution'."""
    if not key:
        return ""
    return TERMS.get(key, key.replace("_", " "))


def plain(message) -> str:
    """'R10: category other_nonaqueous ...' -> 'category other nonaqueous dosage forms ...'."""
    if message is None:
        return ""
    text = _RULE_CODE.sub("", str(message))
    return _KEY.sub(lambda m: term(m.group(0)), text)


def grouped(value):
    """Decimals (the app's quantities) print with thousands separators, digits unchanged."""
    if isinstance(value, Decimal) and value.is_finite() and abs(value) >= 1000:
        return format(value, ",f")
    return value


def register(app: Flask) -> None:
    app.jinja_env.filters["plain"] = plain
    app.jinja_env.filters["term"] = term
    previous = app.jinja_env.finalize

    def finalize(value):
        value = grouped(value)
        return previous(value) if previous else value

    app.jinja_env.finalize = finalize
