"""Electronic signatures (21 CFR Part 11 style): what each signature means, and the hash that
binds it to the exact content signed. Pure: no Flask, no database."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# The meaning is printed with the signature: the signer states what they attest to.
MEANINGS: dict[str, str] = {
    "rx_verify": "verified: prescription clinically appropriate",
    "mfr_approve": "approved: master formulation record",
    "batch_release": "released: batch meets specifications",
    "final_check": "checked: product, label and prescription match",
}


def meaning_text(code: str) -> str:
    try:
        return MEANINGS[code]
    except KeyError:
        raise ValueError(f"unknown signature meaning {code!r}") from None


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def canonical(content: dict) -> str:
    """One text for the same content whatever the key order, so the hash can be recomputed."""
    return json.dumps(plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def signature_line(initials: str, full_name: str, meaning: str, signed_at: datetime) -> str:
    """How a signature prints on worksheets and labels data: short and complete."""
    return f"{full_name} ({initials}) — {meaning} — {signed_at.strftime('%Y-%m-%d %H:%M')} UTC"
