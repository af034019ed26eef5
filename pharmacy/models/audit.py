"""The audit trail: append-only, written by services in the same transaction as the change.

Tamper evidence: each row carries `chain_hash`, the SHA-256 of the previous row's hash and
this row's content (see services/audit.py), so an edited, deleted or inserted row breaks the
chain (`flask audit verify`). The database itself refuses UPDATE, DELETE and TRUNCATE of the
table (triggers below, also created by migration 0011), whatever client connects.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base
from .types import Timestamp


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity", "entity_id"),
        # The audit trail's filters, each with the id it pages by (newest first), so a filter
        # reads one page of its index instead of sorting every matching event.
        Index("ix_audit_event_actor_id", "actor", "id"),
        Index("ix_audit_event_action_id", "action", "id"),
        Index("ix_audit_event_entity_id_order", "entity", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[Timestamp] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    # None only for rows written outside record() (e.g. bulk benchmark data): verify flags them.
    chain_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the hash of the newest audit event. Locking it serializes chain appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _conn, target):
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _conn, target):
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be deleted")


# The same statements run in migration 0011 and when tests create the schema from the models.
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
       END $$""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
]
# SQLite has no TRUNCATE: "DELETE FROM audit_event" without WHERE fires the delete trigger.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END""",
]

for _sql in POSTGRES_TRIGGERS:
    # DDL() formats with %, so the trigger's own % placeholder is doubled.
    event.listen(
        AuditEvent.__table__,
        "after_create",
        DDL(_sql.replace("%", "%%")).execute_if(dialect="postgresql"),
    )
for _sql in SQLITE_TRIGGERS:
    event.listen(AuditEvent.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
