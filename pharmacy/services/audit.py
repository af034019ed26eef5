"""The one way the app writes the audit trail: in the caller's transaction, never committed here.

The trail is a hash chain: each row's chain_hash is SHA-256 over the previous row's hash and
this row's content. Rows recorded in a transaction are appended when it commits, under a lock
on the single chain-head row, so concurrent transactions append one after the other and the
chain never forks. The head is locked last in every transaction (after any row locks the use
case took), so it cannot take part in a lock cycle.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, inspect, select, union_all
from sqlalchemy.orm import Session

from ..database import utcnow
from ..models import AuditChainHead, AuditEvent, User

GENESIS = "0" * 64
_PENDING = "audit_pending"


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
        at=utcnow(),
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
    # Appended (hashed, inserted) when the transaction commits: see append_pending.
    session.info.setdefault(_PENDING, []).append(event)
    return event


def pending(session: Session) -> list[AuditEvent]:
    """Audit records of the open transaction, not yet written (they are at commit)."""
    return list(session.info.get(_PENDING, ()))


def _canonical_time(value: datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL an aware time in the session's zone.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def row_hash(previous: str, row: AuditEvent) -> str:
    content = json.dumps(
        [
            _canonical_time(row.at),
            row.user_id,
            row.actor,
            row.action,
            row.entity,
            row.entity_id,
            row.old,
            row.new,
            row.reason,
            row.ip,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


def _locked_head(session: Session) -> AuditChainHead:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(AuditChainHead)
        .values(id=1, last_id=0, last_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    # FOR UPDATE: the second of two committing transactions waits here for the first.
    # (SQLite: the unit of work already holds the database's single write lock.)
    return session.execute(
        select(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def append_pending(session: Session) -> None:
    events = session.info.pop(_PENDING, None)
    if not events:
        return
    head = _locked_head(session)  # the committed head, read under the lock
    previous = head.last_hash
    for event in events:
        event.chain_hash = previous = row_hash(previous, event)
        session.add(event)  # inserted in this order, so ids follow the chain
    session.flush()
    head.last_id, head.last_hash = events[-1].id, previous


def _discard_pending(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Append recorded events at commit; forget them when the transaction rolls back."""
    if not sa_event.contains(Session, "before_commit", append_pending):
        sa_event.listen(Session, "before_commit", append_pending)
        sa_event.listen(Session, "after_rollback", _discard_pending)
        sa_event.listen(Session, "after_soft_rollback", _discard_pending)


def verify_chain(session: Session, batch: int = 5000) -> tuple[int, list[str]]:
    """Recompute the chain over every row in id order: (rows checked, problems found).

    A changed row breaks its own hash; a removed or inserted row breaks the next one's; rows
    cut off at the end show as a head that no longer matches the last row."""
    problems: list[str] = []
    previous, last_id, checked = GENESIS, 0, 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            expected = row_hash(previous, row)
            if row.chain_hash != expected:
                problems.append(
                    f"audit event {row.id} ({row.action} by {row.actor}): hash does not match "
                    "- this row was changed, or one before it was removed or inserted"
                )
            previous = row.chain_hash or expected
            last_id = row.id
        checked += len(rows)
        session.expunge_all()
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.last_id, head.last_hash) != (last_id, previous):
        problems.append(
            f"the chain head names event {head.last_id} but the last row is {last_id}: "
            "rows at the end were removed"
        )
    return checked, problems


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
