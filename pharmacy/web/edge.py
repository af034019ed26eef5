"""The edge: every query string, form and JSON value is bounded before any view sees it.

Unbounded input was the root of most 500s: a number like 1E+999999999 that hangs Decimal
arithmetic, ids beyond the 32-bit columns, NUL characters PostgreSQL refuses, deep JSON that
overflows the parser's recursion. Each is answered with a 4xx naming the field instead.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, Request, request
from pydantic import BaseModel
from werkzeug.datastructures import ImmutableMultiDict

from ..domain import bounds
from ..domain.errors import FieldError, ValidationFailed

_INT = re.compile(r"\s*[+-]?\d+\s*")
# Number-shaped text in exponent notation: the one spelling that can hide a huge value.
_EXPONENT_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+\s*")


class BoundedMultiDict(ImmutableMultiDict):
    """request.args / request.form whose get(..., type=int) refuses out-of-range integers
    (naming the parameter) instead of handing PostgreSQL a value it cannot compare."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        if type is int:
            raw = super().get(key)
            if raw is None or not _INT.fullmatch(raw):
                return default if raw is None or not raw.strip() else super().get(key, default, int)
            if len(raw.strip().lstrip("+-")) > 12:
                raise ValidationFailed.single(key, "is out of range")
            value = int(raw)
            problem = bounds.int_problem(value)
            if problem:
                raise ValidationFailed.single(key, problem)
            return value
        return super().get(key, default, type)


class EdgeRequest(Request):
    parameter_storage_class = BoundedMultiDict


def _value_problem(value: str, multiline: bool) -> str | None:
    problem = bounds.text_problem(value, multiline)
    if problem is None and len(value) < 400 and _EXPONENT_NUMBER.fullmatch(value):
        try:
            problem = bounds.decimal_problem(Decimal(value.strip()))
        except InvalidOperation:
            problem = None
    return problem


def _id_problem(key: str, value: str) -> str | None:
    # Record ids ("patient_id", "order_ids") name 32-bit keys: a larger one is never a record,
    # and PostgreSQL (or SQLite's driver) would fail the look-up instead of finding nothing.
    if (key == "id" or key.endswith(("_id", "_ids"))) and _INT.fullmatch(value):
        digits = value.strip().lstrip("+-")
        if len(digits) > 12 or bounds.int_problem(int(value)):
            return "is not a known record (out of range)"
    return None


# Barcode scanners append control characters (GS separators, a trailing CR or NUL) to what
# they read; these fields are cleaned by the scan service, which removes them before use.
SCANNED_FIELDS = frozenset({"label_code", "batch_code", "scan", "barcode", "code"})


def _scanned(key: str) -> bool:
    # scan_<line id>: the container scan beside each weighing line
    return key in SCANNED_FIELDS or (key.startswith("scan_") and key[5:].isdigit())


# Search boxes: a term of wildcards alone ("%", "_") would list every patient.
SEARCH_FIELDS = ("q",)
_WILDCARDS = re.compile(r"[%_*?\s]+")


def check_request_values() -> None:
    """Query strings: no control characters at all; forms: tabs and newlines allowed."""
    errors = []
    # No query string and no body type (so no form is parsed): no values to bound. Most page
    # views; skipping them spares building two empty dicts on every request.
    plain_get = not request.query_string and not request.environ.get("CONTENT_TYPE")
    for multiline, values in () if plain_get else ((False, request.args), (True, request.form)):
        for key, value in values.items(multi=True):
            problem = bounds.text_problem(key, False)
            if problem:
                errors.append(FieldError("parameter name", problem))
                continue
            if _scanned(key) and len(value) <= 500:
                continue
            problem = _value_problem(value, multiline) or _id_problem(key, value)
            if problem:
                errors.append(FieldError(key, problem))
    for key in () if plain_get else SEARCH_FIELDS:
        value = request.args.get(key, "")
        if value.strip() and not _WILDCARDS.sub("", value):
            errors.append(
                FieldError(
                    key, "search for at least one letter or digit; wildcards alone are refused"
                )
            )
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and bounds.text_problem(value, False):
            errors.append(FieldError(key, "must not contain control characters"))
    if errors:
        raise ValidationFailed(errors)


def init_edge(app: Flask) -> None:
    app.request_class = EdgeRequest
    app.before_request(check_request_values)


# --- JSON -------------------------------------------------------------------------------------


def _path(parent: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{parent}[{part}]" if parent else f"[{part}]"
    return f"{parent}.{part}" if parent else str(part)


def json_problems(data: Any, path: str = "", depth: int = 0) -> list[FieldError]:
    """Bound a parsed JSON document: depth, numbers, strings (and object keys)."""
    if depth > bounds.MAX_JSON_DEPTH:
        return [
            FieldError(path or "body", f"is nested too deeply (at most {bounds.MAX_JSON_DEPTH})")
        ]
    out: list[FieldError] = []
    if isinstance(data, dict):
        for key, value in data.items():
            problem = bounds.text_problem(key, False)
            if problem:
                out.append(FieldError(path or "body", f"a member name {problem}"))
            else:
                out += json_problems(value, _path(path, key), depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += json_problems(value, _path(path, i), depth + 1)
    else:
        problem = _scalar_problem(data)
        if problem:
            out.append(FieldError(path or "body", problem))
    return out


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return bounds.int_problem(value)
    if isinstance(value, Decimal):
        return bounds.decimal_problem(value)
    if isinstance(value, str):
        return _value_problem(value, True)
    if isinstance(value, date):
        return bounds.date_problem(value)
    return None


def model_problems(model: Any, path: str = "") -> list[FieldError]:
    """The same bounds on a validated pydantic model: values pydantic built from strings
    ("quantity": "1E+999999999" becomes a Decimal) and dates it parsed."""
    out: list[FieldError] = []
    if isinstance(model, BaseModel):
        for name in type(model).model_fields:
            out += model_problems(getattr(model, name), _path(path, name))
    elif isinstance(model, list | tuple):
        for i, value in enumerate(model):
            out += model_problems(value, _path(path, i))
    elif isinstance(model, dict):
        for key, value in model.items():
            out += model_problems(value, _path(path, str(key)))
    else:
        problem = _scalar_problem(model)
        if problem:
            out.append(FieldError(path or "body", problem))
    return out
