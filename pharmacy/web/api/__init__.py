"""The JSON API (/api/v1): bearer-token sign-in, pydantic shapes, domain rules, 422 errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TypeVar

from flask import Blueprint, request
from pydantic import BaseModel, ValidationError

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


def register_api(app) -> None:
    from ...extensions import csrf
    from . import (
        batches,  # noqa: F401  (routes: batches, recall traces)
        calculations,  # noqa: F401  (routes)
        inventory,  # noqa: F401  (routes: lots)
        prescriptions,  # noqa: F401  (routes: screening, orders)
    )

    # Bearer tokens only, never cookies (see create_app), so cross-site forgery cannot reach it.
    csrf.exempt(bp)
    app.register_blueprint(bp)
