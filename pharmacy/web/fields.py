"""Form fields with edge bounds: a number, whole number or date that is out of range is a
field error shown next to the field, not a hang or a database error."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from wtforms import DateField as _DateField
from wtforms import DecimalField as _DecimalField
from wtforms import IntegerField as _IntegerField

from ..domain import bounds

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


class DecimalField(_DecimalField):
    """Plain decimal notation only (no exponent), within the edge bounds."""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "") or ""
        if raw.strip():
            text = raw.strip()
            if not _PLAIN_NUMBER.fullmatch(text):
                self.data = None
                raise ValueError(self.gettext("Not a valid decimal value."))
            try:
                problem = bounds.decimal_problem(Decimal(text))
            except InvalidOperation:
                problem = "Not a valid decimal value."
            if problem:
                self.data = None
                raise ValueError(problem)
        super().process_formdata(valuelist)


class IntegerField(_IntegerField):
    def process_formdata(self, valuelist):
        raw = ((valuelist[0] if valuelist else "") or "").strip()
        digits = raw.lstrip("+-")
        if re.fullmatch(r"[+-]?\d+", raw) and (len(digits) > 12 or bounds.int_problem(int(raw))):
            self.data = None
            raise ValueError(f"must be a whole number from {bounds.INT_MIN} to {bounds.INT_MAX}")
        super().process_formdata(valuelist)


class DateField(_DateField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            problem = bounds.date_problem(self.data)
            if problem:
                self.data = None
                raise ValueError(problem)
