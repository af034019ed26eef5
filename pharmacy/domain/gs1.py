"""Reading the GS1 barcode on an ingredient container: GTIN, lot number and expiry.

A keyboard-wedge scanner types what the barcode holds, then Enter. A GS1 DataMatrix or
GS1-128 arrives as raw element strings with the GS character (\\x1d) between variable-length
fields, sometimes behind a symbology identifier (]d2, ]C1); some scanners (and people typing
from the print under the bars) give the bracketed form "(01)...(10)...(17)...". Both are
parsed by `biip`, a maintained GS1 library.

The pharmacy's own lot label, for a container without a supplier barcode, uses the bracketed
form in a QR code: (01) GTIN when the ingredient has one, else (91) "ING" + the ingredient's
id (AI 91 is for a company's internal use), then (10) lot and (17) expiry.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

import biip
from biip.gs1_messages import GS1Message

from .errors import ValidationFailed

GS = "\x1d"
MAX_SCAN = 200
_INTERNAL = re.compile(r"^ING(\d{1,9})$")
_LOT = re.compile(r"^[!-~ ]{1,20}$")  # GS1 AI 10: up to 20 printable characters


@dataclass(frozen=True)
class ContainerScan:
    """What one scan said. `ingredient_id` is set only by the pharmacy's own label."""

    gtin: str | None
    ingredient_id: int | None
    lot_number: str | None
    expires_on: date | None
    expiry_month_only: bool

    @property
    def expiry_text(self) -> str:
        """As the receipt form takes it: 2027-03 for a month-only expiry."""
        if self.expires_on is None:
            return ""
        if self.expiry_month_only:
            return self.expires_on.strftime("%Y-%m")
        return self.expires_on.isoformat()


def normalize_gtin(value: str | None, field: str = "gtin") -> str | None:
    """A GTIN-8/12/13/14 as its 14-digit form, the check digit verified; blank is None."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        raise ValidationFailed.single(field, "a GTIN is 8, 12, 13 or 14 digits")
    parsed = biip.parse(text)
    if parsed.gtin is None:
        raise ValidationFailed.single(field, f"{text} is not a valid GTIN (check digit is wrong)")
    return parsed.gtin.value.zfill(14)


def _message(text: str) -> GS1Message:
    if text.startswith("("):
        return GS1Message.parse_hri(text)
    result = biip.parse(text)
    if result.gs1_message is None:
        raise ValueError(result.gs1_message_error or "not a GS1 barcode")
    return result.gs1_message


def _expiry(raw: str) -> tuple[date, bool]:
    """YYMMDD; day 00 means the end of the month (GS1 general specifications 7.12)."""
    year, month, day = 2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:6])
    if day == 0:
        return date(year, month, calendar.monthrange(year, month)[1]), True
    return date(year, month, day), False


def parse_container_scan(text: str | None, field: str = "scan") -> ContainerScan:
    """Everything a container's barcode says, or a ValidationFailed naming `field`."""
    raw = (text or "").strip("\r\n")
    if not raw.strip():
        raise ValidationFailed.single(field, "scan the container's barcode")
    if len(raw) > MAX_SCAN:
        raise ValidationFailed.single(field, f"a scan is at most {MAX_SCAN} characters")
    try:
        message = _message(raw.strip())
    except Exception as exc:  # biip raises its own ParseError/ValueError subclasses
        raise ValidationFailed.single(
            field, f"this is not a GS1 container barcode (GTIN, lot, expiry): {exc}"
        ) from None
    values = {e.ai.ai: e.value for e in message.element_strings}
    gtin = (
        normalize_gtin(values.get("01") or values.get("02"), field)
        if (values.get("01") or values.get("02"))
        else None
    )
    internal = _INTERNAL.match(values.get("91", ""))
    ingredient_id = int(internal.group(1)) if internal else None
    if gtin is None and ingredient_id is None:
        raise ValidationFailed.single(
            field, "the barcode names no product (no GTIN (01) and no pharmacy label (91))"
        )
    expires_on, month_only = (None, False)
    if "17" in values:
        try:
            expires_on, month_only = _expiry(values["17"])
        except ValueError:
            raise ValidationFailed.single(
                field, f"the expiry (17) {values['17']} is not a date"
            ) from None
    return ContainerScan(gtin, ingredient_id, values.get("10"), expires_on, month_only)


def lot_label_payload(
    gtin: str | None, ingredient_id: int, lot_number: str, expires_on: date, month_only: bool
) -> str:
    """The bracketed GS1 text the pharmacy prints on its own lot label."""
    if not _LOT.match(lot_number) or "(" in lot_number or ")" in lot_number:
        raise ValidationFailed.single(
            "lot_number", "a GS1 lot is 1-20 printable characters without brackets"
        )
    product = f"(01){gtin}" if gtin else f"(91)ING{ingredient_id}"
    day = "00" if month_only else f"{expires_on.day:02d}"
    return f"{product}(10){lot_number}(17){expires_on:%y%m}{day}"


@dataclass(frozen=True)
class ExpectedContainer:
    ingredient_id: int
    ingredient_name: str
    gtin: str | None
    lot_number: str


def container_mismatch(scan: ContainerScan, expected: ExpectedContainer) -> str | None:
    """Why the scanned container is not the one the line calls for, or None when it is."""
    same_product = (
        scan.ingredient_id == expected.ingredient_id
        if scan.ingredient_id is not None
        else expected.gtin is not None and scan.gtin == expected.gtin
    )
    if not same_product:
        what = f"GTIN {scan.gtin}" if scan.gtin else f"pharmacy ingredient {scan.ingredient_id}"
        if scan.gtin and expected.gtin is None:
            return (
                f"wrong ingredient: {what} is not {expected.ingredient_name} "
                f"({expected.ingredient_name} has no GTIN on record)"
            )
        return f"wrong ingredient: {what} is not {expected.ingredient_name}"
    if scan.lot_number is None:
        return "the barcode carries no lot number (10): scan the lot barcode"
    if scan.lot_number.strip().casefold() != expected.lot_number.strip().casefold():
        return (
            f"wrong lot: the container is lot {scan.lot_number}, this line uses lot "
            f"{expected.lot_number}"
        )
    return None
