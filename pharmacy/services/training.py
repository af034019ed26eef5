"""Training records, and the check that only people with current training compound, make the
final check or release a batch (`require_current`, called by those services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import training as rules
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..models import TrainingRecord, User
from . import audit
from .equipment import _parse_date
from .inventory import _text


@dataclass(frozen=True)
class TrainingInput:
    user_id: int | str | None
    task: str
    kind: str
    completed_on: date | str | None
    notes: str = ""


def _records(session: Session, user_id: int) -> list[TrainingRecord]:
    return list(
        session.scalars(
            select(TrainingRecord)
            .where(TrainingRecord.user_id == user_id)
            .order_by(TrainingRecord.completed_on.desc(), TrainingRecord.id.desc())
        )
    )


def _plain(rows) -> list[rules.Record]:
    return [rules.Record(r.task, r.kind, r.completed_on) for r in rows]


def record(session: Session, actor: User | str, inp: TrainingInput) -> TrainingRecord:
    """Record a completed training. `actor` is a pharmacist or administrator (or "demo-data"
    / "test" when set up by a command)."""
    if isinstance(actor, User) and not actor.has_role("pharmacist", "admin"):
        raise TransitionNotAllowed("Only a pharmacist or an administrator records training.")
    errors: list[FieldError] = []
    try:
        user = session.get(User, int(inp.user_id)) if inp.user_id else None
    except (TypeError, ValueError):
        user = None
    if user is None:
        errors.append(FieldError("user_id", "choose a person"))
    if inp.task not in rules.TASKS:
        errors.append(FieldError("task", "choose compounding, final check or release"))
    if inp.kind not in rules.KINDS:
        errors.append(FieldError("kind", "choose initial or annual"))
    done = _parse_date(inp.completed_on, "completed_on", errors)
    if done and done > date.today():
        errors.append(FieldError("completed_on", "cannot be in the future"))
    if len(_text(inp.notes)) > 200:
        errors.append(FieldError("notes", "is longer than 200 characters"))
    if not errors and inp.kind == "annual":
        prior = [r for r in _records(session, user.id) if r.task == inp.task]
        if not any(r.kind == "initial" and r.completed_on <= done for r in prior):
            errors.append(
                FieldError("kind", "a yearly refresher needs an initial training recorded first")
            )
    if errors:
        raise ValidationFailed(errors)
    row = TrainingRecord(
        user_id=user.id,
        task=inp.task,
        kind=inp.kind,
        completed_on=done,
        valid_until=rules.valid_until(done),
        notes=_text(inp.notes) or None,
        recorded_by_id=actor.id if isinstance(actor, User) else None,
        recorded_by=actor.username if isinstance(actor, User) else actor,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "training.record", "user", user.id, None, audit.snapshot(row))
    return row


def require_current(session: Session, user: User, task: str, on: date | None = None) -> None:
    """Refuse (422, field "training") when `user` has no current training for `task`."""
    ok, why = rules.status(_plain(_records(session, user.id)), task, on or date.today())
    if not ok:
        raise ValidationFailed.single(
            "training",
            f"{user.full_name} may not do {rules.TASKS[task]}: {why}. A pharmacist or "
            "administrator records training on the Training page.",
        )


@dataclass(frozen=True)
class PersonTraining:
    user: User
    status: dict[str, tuple[bool, str]]
    records: list[TrainingRecord]


def overview(session: Session, on: date | None = None) -> list[PersonTraining]:
    on = on or date.today()
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name))
    out = []
    for user in users:
        rows = _records(session, user.id)
        plain = _plain(rows)
        out.append(PersonTraining(user, {t: rules.status(plain, t, on) for t in rules.TASKS}, rows))
    return out


def record_initial(
    session: Session, actor: User | str, user: User, tasks, completed_on: date, notes: str = ""
) -> None:
    """Initial training for several tasks at once (demo data and set-up scripts)."""
    for task in tasks:
        record(session, actor, TrainingInput(user.id, task, "initial", completed_on, notes))
