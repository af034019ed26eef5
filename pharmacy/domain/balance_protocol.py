"""What a laboratory balance says over its serial line, for the two protocols pharmacies meet.

Mettler Toledo MT-SICS (level 0): the host sends "S" (stable weight) or "SI" (immediately,
stable or not), each ended by CR LF. Replies:
    "S S     12.3456 g"   stable weight
    "S D     12.3400 g"   dynamic (still moving; only SI answers this way)
    "S I" / "S +" / "S -" the balance cannot weigh now / overload / underload
    "ES", "ET", "EL"      syntax, transmission, logical error

Sartorius SBI: the host sends ESC "P" CR LF (print); the balance answers one line, 16 or 22
characters: an optional 6-character identifier ("G     ", "N     "), the sign and value right
aligned, the unit; a stable reading carries the unit, an unstable one has no unit
("+    12.3456    " with blanks where the unit would be). "High" / "Low" are over/underload.

Everything here is pure: bytes in, a Reading (or a BalanceError saying why not) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PROTOCOLS = {"mt-sics": "Mettler Toledo MT-SICS", "sbi": "Sartorius SBI"}
UNITS_MG = {"mg": Decimal(1), "g": Decimal(1000), "kg": Decimal(1000000)}
EOL = b"\r\n"


class BalanceError(Exception):
    """The balance gave no usable weight: the message says what to do."""


@dataclass(frozen=True)
class Reading:
    value: Decimal
    unit: str
    stable: bool

    def in_unit(self, unit: str) -> Decimal:
        if self.unit not in UNITS_MG or unit not in UNITS_MG:
            raise BalanceError(f"the balance reads in {self.unit}; it cannot be taken as {unit}")
        return self.value * UNITS_MG[self.unit] / UNITS_MG[unit]


def command(protocol: str, stable_only: bool = True) -> bytes:
    """The bytes that ask the balance for a weight."""
    if protocol == "mt-sics":
        return (b"S" if stable_only else b"SI") + EOL
    if protocol == "sbi":
        return b"\x1bP" + EOL
    raise BalanceError(f"unknown balance protocol {protocol!r}")


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise BalanceError(f"the balance sent {text!r}, which is not a number") from None
    if not value.is_finite():
        raise BalanceError(f"the balance sent {text!r}, which is not a number")
    return value


_SICS = re.compile(r"^(S|SI)\s+([SD])\s+([-+]?\s*[\d.]+)\s+(\S+)\s*$")
_SICS_STATUS = {
    "I": "the balance is busy (taring or adjusting): wait and read again",
    "+": "the balance is overloaded: take weight off",
    "-": "the balance is underloaded: is the pan in place?",
}
_SICS_ERRORS = {
    "ES": "the balance did not understand the command (is it set to MT-SICS?)",
    "ET": "transmission error: check the cable and the baud rate",
    "EL": "the balance cannot do this now",
}


def parse_mt_sics(line: bytes | str) -> Reading:
    text = line.decode("ascii", "replace") if isinstance(line, bytes) else line
    text = text.strip("\r\n")
    if text.strip() in _SICS_ERRORS:
        raise BalanceError(_SICS_ERRORS[text.strip()])
    match = _SICS.match(text)
    if match is None:
        parts = text.split()
        if len(parts) == 2 and parts[0] in ("S", "SI") and parts[1] in _SICS_STATUS:
            raise BalanceError(_SICS_STATUS[parts[1]])
        raise BalanceError(f"unexpected reply from the balance: {text!r}")
    _cmd, status, value, unit = match.groups()
    return Reading(_number(value), unit, status == "S")


_SBI = re.compile(r"^(?:[A-Za-z ]{6})?\s*([-+]?)\s*([\d.]+)\s*([A-Za-z%]*)\s*$")


def parse_sbi(line: bytes | str) -> Reading:
    text = line.decode("ascii", "replace") if isinstance(line, bytes) else line
    text = text.strip("\r\n")
    low = text.strip().lower()
    if low in ("high", "h"):
        raise BalanceError("the balance is overloaded: take weight off")
    if low in ("low", "l"):
        raise BalanceError("the balance is underloaded: is the pan in place?")
    match = _SBI.match(text)
    if match is None:
        raise BalanceError(f"unexpected reply from the balance: {text!r}")
    sign, digits, unit = match.groups()
    value = _number(digits)
    # SBI leaves the unit blank while the reading is still moving.
    return Reading(-value if sign == "-" else value, unit or "", bool(unit))


def parse(protocol: str, line: bytes | str) -> Reading:
    if protocol == "mt-sics":
        return parse_mt_sics(line)
    if protocol == "sbi":
        return parse_sbi(line)
    raise BalanceError(f"unknown balance protocol {protocol!r}")


def require_stable(reading: Reading) -> Reading:
    if not reading.stable:
        raise BalanceError("the reading is not stable: wait for the balance to settle")
    if reading.value <= 0:
        raise BalanceError("the balance reads zero or less: put the weighed material on the pan")
    return reading


def format_mt_sics(value: Decimal, unit: str, stable: bool, command_sent: str = "S") -> bytes:
    """A reply as an MT-SICS balance writes it (used by the simulator)."""
    return f"{command_sent} {'S' if stable else 'D'} {value:>10} {unit}".encode() + EOL


def format_sbi(value: Decimal, unit: str, stable: bool) -> bytes:
    """A 22-character SBI line with the "G" identifier (used by the simulator)."""
    sign = "-" if value < 0 else "+"
    return f"G     {sign}{abs(value):>10} {unit if stable else '':<3}".encode() + EOL
