"""The one way the app writes the audit trail: in the caller's transaction, never committed here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, inspect, select, union_all
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

    Each filter is a term its (column, id) index serves. An action prefix ("order.") matches
    a few distinct actions but perhaps a million events: it is read as one newest-first page
    per matching action (each an (action, id) index range), merged, instead of sorting every
    match."""
    where = []
    if f.actor:
        where.append(AuditEvent.actor == f.actor)
    if f.entity:
        where.append(AuditEvent.entity == f.entity)
    if f.entity_id:
        where.append(AuditEvent.entity_id == f.entity_id)
    if f.since:
        where.append(AuditEvent.at >= f.since)
    if f.until:
        where.append(AuditEvent.at <= f.until)
    if before:
        where.append(AuditEvent.id < before)
    newest = AuditEvent.id.desc()
    if not f.action or _whole_action(f.action):
        if f.action:
            where.append(AuditEvent.action == f.action)
        stmt = select(AuditEvent).where(*where).order_by(newest).limit(limit + 1)
    else:
        pages = [
            select(AuditEvent.id)
            .where(AuditEvent.action == action, *where)
            .order_by(newest)
            .limit(limit + 1)
            .subquery()
            for action in _actions_with_prefix(session, f.action)
        ]
        if not pages:
            return [], False
        ids = union_all(*(select(page.c.id) for page in pages)).subquery()
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.id.in_(select(ids.c.id)))
            .order_by(newest)
            .limit(limit + 1)
        )
    rows = session.scalars(stmt).all()
    return list(rows[:limit]), len(rows) > limit


def _whole_action(action: str) -> bool:
    # Every action has two parts, so a whole name is never the prefix of another action.
    return bool(re.fullmatch(r"[a-z_]+\.[a-z_]+", action))


def _actions_with_prefix(session: Session, prefix: str) -> list[str]:
    """The distinct actions starting with `prefix`. The trail holds a few dozen distinct
    actions: they are walked one index seek each (a skip scan, in the index's own collation,
    so it holds under any database locale) and the prefix is matched here, exactly."""
    found: list[str] = []
    action = session.scalar(select(func.min(AuditEvent.action)))
    while action is not None and len(found) < 1000:  # a bound, far above the real count
        found.append(action)
        action = session.scalar(
            select(func.min(AuditEvent.action)).where(AuditEvent.action > action)
        )
    return [a for a in found if a.startswith(prefix)]
