"""The one way the app writes the audit trail: in the caller's transaction, never committed here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, inspect, select
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


@dataclass(frozen=True)
class TrailFilter:
    actor: str = ""
    action: str = ""  # a prefix: "order." finds every order action
    entity: str = ""
    entity_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def trail(
    session: Session, f: TrailFilter, before: int | None = None, limit: int = 50
) -> tuple[list[AuditEvent], bool]:
    """One page of the audit trail, newest first (keyset on the id), and whether more follow.

    Each filter is a term its (column, id) index serves (see _action_filter)."""
    stmt = select(AuditEvent)
    if f.actor:
        stmt = stmt.where(AuditEvent.actor == f.actor)
    if f.action:
        stmt = stmt.where(_action_filter(session, f.action))
    if f.entity:
        stmt = stmt.where(AuditEvent.entity == f.entity)
    if f.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == f.entity_id)
    if f.since:
        stmt = stmt.where(AuditEvent.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEvent.at <= f.until)
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    rows = session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
    return list(rows[:limit]), len(rows) > limit


def _action_filter(session: Session, action: str):
    """A whole action name ("order.status") is an equality; a prefix ("order.", "order") a
    range, not LIKE, which SQLite (case-insensitive LIKE) does not take from a btree. Every
    action has two parts, so a whole name is never the prefix of another action."""
    from .patients import after_prefix

    if re.fullmatch(r"[a-z_]+\.[a-z_]+", action):
        return AuditEvent.action == action
    column = AuditEvent.action
    if session.get_bind().dialect.name == "postgresql":
        column = column.collate("C")  # the range means "starts with" in binary order only
    upper = after_prefix(action)
    return and_(column >= action, column < upper) if upper else column >= action
