"""Column types shared by the models: quantities are exact decimals with an explicit unit."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from sqlalchemy import DateTime, String
from sqlalchemy.orm import mapped_column

from ..database import ExactDecimal, utcnow

# mg, mL, %, etc. with four decimal places: more than any balance reads (0.01 mg).
Quantity = Annotated[Decimal, mapped_column(ExactDecimal(scale=4))]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True), default=utcnow)]
UpdatedAt = Annotated[
    datetime, mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
]
Unit = Annotated[str, mapped_column(String(8))]

UNITS = ("mg", "g", "mL", "each", "capsule", "tablet")
