"""The JSON API (/api/v1): bearer-token sign-in, pydantic shapes, domain rules, 422 errors."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, TypeVar

from flask import Blueprint, request
from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from ...domain.errors import FieldError, ValidationFailed
from .. import edge

bp = Blueprint("api", __name__, url_prefix="/api/v1")

M = TypeVar("M", bound=BaseModel)


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def parse_body(model: type[M]) -> M:
    """Parse the JSON body exactly (numbers become Decimal, never float) into `model`."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw or b"null", parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.single("body", "is not valid JSON") from None
    except RecursionError:
        raise ValidationFailed.single("body", "is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", "must be a JSON object")
    problems = edge.json_problems(data)
    if problems:
        raise ValidationFailed(problems)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            [FieldError(_field_path(e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None
    problems = edge.model_problems(parsed)
    if problems:
        raise ValidationFailed(problems)
    return parsed


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def optional_body(model: type[M]) -> M:
    """An empty body is the same as {} (a resume, a verify or a print may need nothing)."""
    return parse_body(model) if request.get_data(cache=True).strip() else model()


def _iso_day(value: object) -> object:
    # Only "YYYY-MM-DD": pydantic would otherwise read the number 0 as 1970-01-01, a wrong
    # date of birth nobody typed.
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip()
    raise ValueError("must be a date written YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_iso_day)]
# An electronic signature: the signer's password, re-entered for this one action.
SignPassword = Annotated[str, Field(max_length=256)]


def register_api(app) -> None:
    from ...extensions import csrf
    from . import (
        batches,  # noqa: F401  (routes: batches, recall traces)
        calculations,  # noqa: F401  (routes)
        complaints,  # noqa: F401  (routes: complaints and adverse events)
        documents,  # noqa: F401  (routes: labels and documents as PDF)
        handout,  # noqa: F401  (routes: refill verification, final check, hand-out)
        intake,  # noqa: F401  (routes: prescriptions, verification, refills)
        inventory,  # noqa: F401  (routes: lots)
        order_moves,  # noqa: F401  (routes: hold / resume / cancel, scan)
        people,  # noqa: F401  (routes: patients, prescribers)
        prescriptions,  # noqa: F401  (routes: screening, orders)
    )

    # Bearer tokens only, never cookies (see create_app), so cross-site forgery cannot reach it.
    csrf.exempt(bp)
    app.register_blueprint(bp)
