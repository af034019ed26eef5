"""Management reports for a date range: what was taken in, made, handed out and checked.

Queries fetch only the timestamp/value columns of the range; grouping by local day is done
here so days follow the pharmacy's clock on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import FieldError, ValidationFailed
from ..localtime import day_start_utc, local, local_day
from ..models import AuditEvent, Batch, Dispense, Ingredient, IngredientLot, Order, QcResult

MAX_DAYS = 366
EXPIRY_WEEKS = 12


@dataclass
class Report:
    since: date
    until: date
    days: list[date]
    orders_per_day: list[int]
    fills_per_day: list[int]
    handouts_per_day: list[int]
    turnaround_hours: list[float]  # one per order handed out in the range
    qc_passed: int
    qc_failed: int
    strengths: list[tuple[str, int, Decimal]] = field(default_factory=list)  # (label, fills, units)
    expiring: list[tuple[date, int]] = field(default_factory=list)  # (week starting, lots)

    @property
    def qc_rate(self) -> float | None:
        total = self.qc_passed + self.qc_failed
        return None if total == 0 else 100.0 * self.qc_passed / total

    @property
    def turnaround_median(self) -> float | None:
        return median(self.turnaround_hours) if self.turnaround_hours else None


def parse_range(since: str | None, until: str | None, today: date) -> tuple[date, date]:
    """The range from the form (default: the last 30 days), checked with plain messages."""
    errors = []
    values = {}
    for name, raw, default in (
        ("since", since, today - timedelta(days=29)),
        ("until", until, today),
    ):
        try:
            values[name] = date.fromisoformat(raw) if raw else default
        except ValueError:
            errors.append(FieldError(name, f"'{raw}' is not a date; use the date picker"))
    if not errors and values["since"] > values["until"]:
        errors.append(FieldError("until", "the end date is before the start date"))
    if not errors and (values["until"] - values["since"]).days >= MAX_DAYS:
        errors.append(FieldError("since", f"choose at most {MAX_DAYS} days"))
    if errors:
        raise ValidationFailed(errors)
    return values["since"], values["until"]


def _per_day(days: list[date], stamps) -> list[int]:
    counts = Counter(local_day(t) for t in stamps)
    return [counts.get(d, 0) for d in days]


def build(session: Session, since: date, until: date, today: date) -> Report:
    start, end = day_start_utc(since), day_start_utc(until + timedelta(days=1))
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]

    created = session.scalars(
        select(Order.created_at).where(Order.created_at >= start, Order.created_at < end)
    ).all()
    fills = session.scalars(
        select(Dispense.dispensed_at).where(
            Dispense.dispensed_at >= start, Dispense.dispensed_at < end
        )
    ).all()
    handed = _handouts(session, start, end)
    qc = session.execute(
        select(QcResult.passed).where(QcResult.recorded_at >= start, QcResult.recorded_at < end)
    ).all()
    return Report(
        since=since,
        until=until,
        days=days,
        orders_per_day=_per_day(days, created),
        fills_per_day=_per_day(days, fills),
        handouts_per_day=_per_day(days, [at for at, _c in handed]),
        turnaround_hours=[
            round((local(at) - local(c)).total_seconds() / 3600, 1) for at, c in handed
        ],
        qc_passed=sum(1 for (p,) in qc if p),
        qc_failed=sum(1 for (p,) in qc if not p),
        strengths=_strengths(session, start, end),
        expiring=_expiring(session, today),
    )


def _handouts(session: Session, start, end) -> list[tuple]:
    """(handed out at, order taken in at) for orders that moved to dispensed in the range."""
    events = session.execute(
        select(AuditEvent.at, AuditEvent.entity_id, AuditEvent.new).where(
            AuditEvent.action == "order.transition",
            AuditEvent.at >= start,
            AuditEvent.at < end,
        )
    ).all()
    out_ids = {int(eid): at for at, eid, new in events if (new or {}).get("status") == "dispensed"}
    if not out_ids:
        return []
    taken = dict(
        session.execute(select(Order.id, Order.created_at).where(Order.id.in_(list(out_ids)))).all()
    )
    return [(at, taken[oid]) for oid, at in out_ids.items() if oid in taken]


def _strengths(session: Session, start, end) -> list[tuple[str, int, Decimal]]:
    rows = session.execute(
        select(Batch.strength_mg, Batch.unit, Dispense.quantity)
        .join(Batch, Dispense.batch_id == Batch.id)
        .where(Dispense.dispensed_at >= start, Dispense.dispensed_at < end)
    ).all()
    fills: Counter = Counter()
    units: dict[str, Decimal] = {}
    for strength, unit, qty in rows:
        per = "mg/mL" if unit == "mL" else "mg"
        label = f"{strength.normalize():f} {per}"
        fills[label] += 1
        units[label] = units.get(label, Decimal(0)) + qty
    return sorted(((k, fills[k], units[k]) for k in fills), key=lambda r: Decimal(r[0].split()[0]))


def _expiring(session: Session, today: date) -> list[tuple[date, int]]:
    """Lots still in stock expiring in the next EXPIRY_WEEKS weeks, per week (Monday first)."""
    monday = today - timedelta(days=today.weekday())
    horizon = monday + timedelta(weeks=EXPIRY_WEEKS)
    dates = session.scalars(
        select(IngredientLot.expires_on)
        .join(Ingredient, IngredientLot.ingredient_id == Ingredient.id)
        .where(
            IngredientLot.status.in_(("quarantined", "released")),
            IngredientLot.expires_on >= today,
            IngredientLot.expires_on < horizon,
        )
    ).all()
    weeks = Counter(d - timedelta(days=d.weekday()) for d in dates)
    return [
        (monday + timedelta(weeks=i), weeks.get(monday + timedelta(weeks=i), 0))
        for i in range(EXPIRY_WEEKS)
    ]
