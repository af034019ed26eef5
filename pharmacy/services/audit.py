"""The one way the app writes the audit trail: in the caller's transaction, never committed here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ..models import AuditEvent, User


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, exclude: tuple[str, ...] = ("password_hash", "token_hash")) -> dict:
    """Column values of a mapped object as JSON-safe data (Decimals kept exact as strings)."""
    mapper = inspect(obj).mapper
    return {
        col.key: _plain(getattr(obj, col.key))
        for col in mapper.column_attrs
        if col.key not in exclude
    }


def changed(old: dict, new: dict) -> tuple[dict, dict]:
    """Only the fields that differ, so the trail shows what an edit really touched."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


def record(
    session: Session,
    actor: User | str | None,
    action: str,
    entity: str,
    entity_id: Any = None,
    old: dict | None = None,
    new: dict | None = None,
    reason: str | None = None,
    ip: str | None = None,
) -> AuditEvent:
    if isinstance(actor, User):
        user_id, actor_name = actor.id, actor.username
    else:
        user_id, actor_name = None, actor or "system"
    event = AuditEvent(
        user_id=user_id,
        actor=actor_name,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        old=_plain(old) if old is not None else None,
        new=_plain(new) if new is not None else None,
        reason=reason,
        ip=ip,
    )
    session.add(event)
    session.flush()
    return event
