"""Electronic signatures: the signer re-enters their password; the signature is written in the
caller's transaction (with the action it signs) and audited. The caller commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..domain import signatures as rules
from ..domain.errors import FieldError, ValidationFailed
from ..models import ElectronicSignature, User
from . import audit
from .passwords import verify_password


class SignatureRefused(ValidationFailed):
    """A wrong signing password: refused like any bad field, and remembered afterwards (outside
    the rolled-back transaction) as a failed sign-in attempt."""

    def __init__(self, user_id: int, username: str, message: str):
        self.user_id, self.username = user_id, username
        super().__init__(FieldError("password", message))


@dataclass(frozen=True)
class SignOff:
    """What the signer typed on the form (or sent as "password" in the JSON body)."""

    password: str
    hasher_params: dict | None = None


def check_password(actor: User, sign: SignOff | None) -> None:
    """Refuse before anything is written. One place, so sign-in throttling can count a wrong
    password here as a failed sign-in attempt when it exists."""
    password = (sign.password if sign else "") or ""
    if not password:
        raise ValidationFailed.single("password", "is required to sign: re-enter your password")
    if not verify_password(actor.password_hash, password, sign.hasher_params):
        raise SignatureRefused(
            actor.id, actor.username, "is not your password; nothing was signed or changed"
        )


def record_refusal(session: Session, exc: SignatureRefused, ip: str | None) -> None:
    """Count a wrong signing password as a failed sign-in attempt, in its own transaction (the
    action's was rolled back). With sign-in throttling (services/signin.py) it counts towards
    the lockout; without it, it is audited."""
    try:
        from . import signin  # type: ignore[attr-defined]
    except ImportError:
        signin = None
    if signin is not None and hasattr(signin, "record"):
        outcome = signin.Outcome(None, signin.WRONG)
        signin.record(session, exc.username, ip or "", outcome, "wrong signature password")
        return
    audit.record(
        session,
        "anonymous",
        "signature.refused",
        "user",
        exc.user_id,
        None,
        {"username": exc.username, "reason": "wrong signature password"},
        ip=ip,
    )


def record(
    session: Session,
    actor: User,
    meaning_code: str,
    entity: str,
    entity_id: int | str,
    content: dict,
) -> ElectronicSignature:
    """Write the signature; the caller has called `check_password` first in this transaction
    (before the action, so a wrong password changes nothing)."""
    plain = rules.plain(content)
    row = ElectronicSignature(
        signed_by_id=actor.id,
        signer_name=actor.full_name,
        signer_initials=actor.initials,
        meaning_code=meaning_code,
        meaning=rules.meaning_text(meaning_code),
        entity=entity,
        entity_id=str(entity_id),
        content=plain,
        content_hash=rules.content_hash(plain),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "signature.sign",
        entity,
        entity_id,
        None,
        {"signature_id": row.id, "meaning": row.meaning, "content_hash": row.content_hash},
    )
    return row


_FOR_RECORD = (  # built once: every record page asks
    select(ElectronicSignature)
    .where(
        ElectronicSignature.entity == bindparam("entity"),
        ElectronicSignature.entity_id == bindparam("eid"),
    )
    .order_by(ElectronicSignature.id)
)


def for_record(session: Session, entity: str, entity_id: int | str) -> list[ElectronicSignature]:
    return list(session.scalars(_FOR_RECORD, {"entity": entity, "eid": str(entity_id)}))


def latest(
    session: Session, entity: str, entity_id: int | str, meaning_code: str
) -> ElectronicSignature | None:
    rows = [s for s in for_record(session, entity, entity_id) if s.meaning_code == meaning_code]
    return rows[-1] if rows else None


def is_intact(row: ElectronicSignature) -> bool:
    """The stored content still hashes to what was signed."""
    return rules.content_hash(row.content) == row.content_hash


def line(row: ElectronicSignature) -> str:
    return rules.signature_line(row.signer_initials, row.signer_name, row.meaning, row.signed_at)


def stamp(row: ElectronicSignature) -> str:
    """Meaning and time, for a printed signature box that already names the signer."""
    return f"{row.meaning}, {row.signed_at:%Y-%m-%d %H:%M} UTC"
