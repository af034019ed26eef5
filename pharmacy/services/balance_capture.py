"""Reading a stable weight from the balance on its serial line, and proving later that the
weight saved is the one read ("captured") rather than typed.

The exchange goes through pyserial (a serial port, or socket:// for the simulator); the
protocol itself is pure (pharmacy.domain.balance_protocol). A capture is handed back with a
signed token of (usage line, balance, value); the weights form sends it back with the value,
and only a matching, fresh token marks the weight as captured.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import serial
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..domain import balance_protocol as bp
from ..domain.errors import ValidationFailed
from ..models import Balance, BatchLotUsage

TIMEOUT_S = 3.0
TOKEN_MAX_AGE_S = 4 * 3600  # a weighing session; older captures count as typed
MAX_LINES = 5  # replies read while waiting for a stable one


@dataclass(frozen=True)
class Capture:
    value: Decimal  # in the line's unit
    unit: str
    reading: bp.Reading
    token: str


def read_stable(port: str, protocol: str, timeout: float = TIMEOUT_S) -> bp.Reading:
    """Ask the balance for a stable weight. BalanceError says why there is none."""
    try:
        conn = serial.serial_for_url(port, baudrate=9600, timeout=timeout)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise bp.BalanceError(f"cannot open the balance's port {port}: {exc}") from None
    with conn:
        for _ in range(MAX_LINES):
            conn.write(bp.command(protocol, stable_only=True))
            line = conn.readline()
            if not line:
                raise bp.BalanceError(
                    f"no answer from the balance on {port} within {timeout:g} s: is it on, "
                    "connected and set to " + bp.PROTOCOLS[protocol] + "?"
                )
            reading = bp.parse(protocol, line)
            if reading.stable:
                return bp.require_stable(reading)
    raise bp.BalanceError("the reading is not stable: wait for the balance to settle")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="balance-capture")


def capture_for_line(usage: BatchLotUsage, balance: Balance) -> Capture:
    field = f"actual_{usage.id}"
    if not balance.port or not balance.protocol:
        raise ValidationFailed.single(
            f"balance_{usage.id}",
            f"{balance.name} is not connected (no port/protocol on its record): type the weight",
        )
    try:
        reading = read_stable(balance.port, balance.protocol)
        value = reading.in_unit(usage.unit)
    except bp.BalanceError as exc:
        raise ValidationFailed.single(field, f"{balance.name}: {exc}") from None
    value = value.quantize(Decimal("0.0001")).normalize()
    token = _serializer().dumps([usage.id, balance.id, str(value)])
    return Capture(value, usage.unit, reading, token)


def verify_capture(token: str | None, usage_id: int, balance_id: int | None, value) -> bool:
    """True when the token is a fresh capture of exactly this value on this line and balance."""
    if not token or value is None:
        return False
    try:
        line, balance, read = _serializer().loads(token, max_age=TOKEN_MAX_AGE_S)
    except (BadSignature, ValueError, TypeError):
        return False
    return line == usage_id and balance == balance_id and Decimal(read) == Decimal(value)
