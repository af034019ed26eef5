"""JSON-ready conversion that keeps Decimals exact (as strings) and dates ISO."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any


def decimal_str(value: Decimal) -> str:
    # 'f' format never switches to exponent notation ("1.2E+2"), which JSON clients misread.
    return format(value, "f")


def jsonable(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return decimal_str(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj
