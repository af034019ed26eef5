"""Orders (fills): refills, the status workflow, status look-up and the work queues."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from ..database import lock_row
from ..domain import dosing, lifecycle
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..domain.prescription_rules import DEFAULT_VALIDITY_MONTHS, PrescriptionTerms
from ..domain.rxnumber import format_rx_number, parse_rx_number
from ..models import AuditEvent, Order, Patient, Prescription, TitrationStep, User
from . import audit
from .patients import after_prefix, search_terms

PAGE_SIZE = 25
# The board is for a glance at every queue: the oldest few of each, each with "More…" to
# the full, paginated queue of that status.
BOARD_ROWS = 10
DISPENSE_METHODS = ("pickup", "shipped")
OPEN_STATUSES = (
    "received",
    "verified",
    "in_compounding",
    "quality_check",
    "ready",
    "checked",
    "on_hold",
)
# Moves made only by their own event (a use case with its checks), never by a status button:
# verify (prescriptions.verify, rescreen.verify_refill), final check and hand-out (handout).
# The fill (-> ready) is the batches service's. Resuming a hold to the status it was held
# from is not one of these moves.
EVENT_MOVES = frozenset({"verified", "checked", "dispensed"})
# What a person may ask for directly (the order page's buttons): hold, resume, cancel.
MANUAL_MOVES = frozenset({"on_hold", "cancelled"})
# Moves that need hands-on pharmacy work; the front desk (staff) may not make them.
# Pharmacist-only moves (verify, release from quality check) are in lifecycle.ORDER.
CLINICAL = frozenset({"pharmacist", "technician"})
CLINICAL_TARGETS = frozenset({"in_compounding", "quality_check", "ready"})
# Each role's work on the queue board: which columns come first for them.
ROLE_WORK = {
    "pharmacist": ("received", "quality_check", "ready"),
    "technician": ("verified", "in_compounding"),
    "staff": ("checked",),
}


def fills_made(rx: Prescription) -> int:
    return sum(1 for o in rx.orders if o.status != "cancelled")


def terms(rx: Prescription, validity_months: int = DEFAULT_VALIDITY_MONTHS) -> PrescriptionTerms:
    return PrescriptionTerms(
        rx.date_written, rx.refills_authorized, fills_made(rx), rx.status, validity_months
    )


def create_refill(
    session: Session,
    actor: User,
    rx: Prescription,
    today: date | None = None,
    promised_on: date | None = None,
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
) -> Order:
    today = today or date.today()
    lock_row(session, rx)  # parallel refills: one at a time, each sees the fills before it
    decision = terms(rx, validity_months).can_fill(today)
    if not decision.allowed:
        raise ValidationFailed(
            [FieldError("prescription", f"no refill: {r.message}") for r in decision.reasons]
        )
    if promised_on is not None and promised_on < today:
        raise ValidationFailed.single("promised_on", "the promised date is in the past")
    number = max((o.fill_number for o in rx.orders), default=0) + 1
    order = Order(
        prescription_id=rx.id,
        fill_number=number,
        status=lifecycle.ORDER.initial,
        quantity=rx.quantity,
        quantity_unit=rx.quantity_unit,
        promised_on=promised_on,
        created_by_id=actor.id,
    )
    session.add(order)
    session.flush()
    session.refresh(rx, ["orders"])
    audit.record(session, actor, "order.create", "rx_order", order.id, None, audit.snapshot(order))
    # A refill is screened again: new findings are stored and shown, and a new
    # contraindication blocks its verification until a pharmacist overrides it.
    from .rescreen import rescreen

    rescreen(session, actor, rx, f"screened again for refill {order.number}", today)
    return order


def recall_held(session: Session, order: Order) -> bool:
    """On hold because a batch it was filled from was recalled."""
    return order.status == "on_hold" and recalled_batch(session, order) is not None


def transition(
    session: Session,
    actor: User | None,
    order: Order,
    target: str,
    reason: str | None = None,
    dispensed_via: str | None = None,
    *,
    check_roles: bool = True,
    by_fill: bool = False,
    event: str | None = None,
) -> Order:
    """Move an order along lifecycle.ORDER. `check_roles=False` is for moves the system makes
    as a consequence of another (cancelling the fills of a rejected prescription). A move in
    EVENT_MOVES needs the `event` that makes it (its use case checks the rest).
    `by_fill`: the move is a fill's (services.batches.fill), the only way out of a recall hold."""
    if target == "dispensed":
        # The hand-out may complete the prescription: lock it before the order, the order
        # every prescription-level change takes (prescription, then its orders). Moves made by
        # batch work (locked batch, then orders) never touch the prescription.
        lock_row(session, order.prescription)
    lock_row(session, order)
    current = order.status
    held_from = order.held_from if current == "on_hold" else None
    if held_from and target != "cancelled" and not by_fill and recall_held(session, order):
        raise TransitionNotAllowed(
            f"Order {order.number} is on hold because a batch it was filled from was recalled: "
            "it leaves the hold only by a fill from another batch."
        )
    if target in EVENT_MOVES and event is None and not (current == "on_hold"):
        raise TransitionNotAllowed(
            f"Order {order.number}: {target.replace('_', ' ')} is recorded by its own step "
            "(verify, final check or hand-out), not by a status change."
        )
    roles = actor.roles if actor is not None and check_roles else None
    lifecycle.check_transition(
        "order", current, target, roles=roles, reason=reason, held_from=held_from
    )
    what = f"Order {order.number} cannot move from {current.replace('_', ' ')} to {target.replace('_', ' ')}"
    if roles is not None and target in CLINICAL_TARGETS and not (roles & CLINICAL):
        raise TransitionNotAllowed(f"{what}: only a pharmacist or technician may do that.")
    if target == "verified" and order.prescription.status != "verified":
        raise TransitionNotAllowed(
            f"{what}: the prescription {order.prescription.rx_number} is "
            f"{order.prescription.status.replace('_', ' ')}; a pharmacist verifies it first."
        )
    if target == "dispensed" and dispensed_via not in DISPENSE_METHODS:
        raise ValidationFailed.single("dispensed_via", "choose pick-up or shipped")
    old = {"status": current, "held_from": order.held_from}
    order.held_from = current if target == "on_hold" else None
    order.status = target
    order.status_reason = reason.strip() if reason and reason.strip() else None
    if target == "dispensed":
        order.dispensed_via = dispensed_via
    session.flush()
    new = {"status": target, "held_from": order.held_from}
    if dispensed_via and target == "dispensed":
        new["dispensed_via"] = dispensed_via
    audit.record(
        session,
        actor,
        "order.transition",
        "rx_order",
        order.id,
        old,
        new,
        reason=order.status_reason,
    )
    rx = order.prescription
    if target == "dispensed" and rx.status == "verified" and terms(rx).fills_remaining == 0:
        open_left = [o for o in rx.orders if o.status in OPEN_STATUSES]
        if not open_left:
            lifecycle.check_transition("prescription", rx.status, "completed")
            rx.status = "completed"
            session.flush()
            audit.record(
                session,
                actor,
                "prescription.complete",
                "prescription",
                rx.id,
                {"status": "verified"},
                {"status": "completed"},
                reason="every authorised fill has been dispensed",
            )
    return order


def recalled_batch(session: Session, order: Order) -> str | None:
    """The recalled batch that filled this order, if any: such an order leaves its hold only by
    a fill from another batch, never by a resume."""
    from ..models import Batch, Dispense

    return session.scalar(
        select(Batch.batch_number)
        .join(Dispense, Dispense.batch_id == Batch.id)
        .where(Dispense.order_id == order.id, Batch.status == "recalled")
        .limit(1)
    )


def manual_moves(session: Session, order: Order, roles: frozenset[str]) -> list[str]:
    """The moves a person may ask for on the order page: hold, cancel, and resume to the
    status it was held from (not for a recall hold). Everything else is an event."""
    held_from = order.held_from if order.status == "on_hold" else None
    allowed = []
    for target in sorted(lifecycle.ORDER.targets(order.status, held_from)):
        resume = order.status == "on_hold" and target == held_from
        if target not in MANUAL_MOVES and not resume:
            continue
        if resume and recalled_batch(session, order):
            continue
        needed = lifecycle.ORDER.roles_for(order.status, target)
        if needed is not None and not (needed & roles):
            continue
        if target in CLINICAL_TARGETS and not (roles & CLINICAL):
            continue
        allowed.append(target)
    return allowed


def change_status(
    session: Session, actor: User, order: Order, target: str, reason: str | None
) -> Order:
    """Hold, resume or cancel an order (the only moves a person asks for directly)."""
    if target not in manual_moves(session, order, actor.roles):
        batch = recalled_batch(session, order) if order.status == "on_hold" else None
        if batch and target == order.held_from:
            raise TransitionNotAllowed(
                f"Order {order.number} is held by the recall of batch {batch}: it leaves the "
                "hold only when it is filled from another batch."
            )
        if target in EVENT_MOVES or target in CLINICAL_TARGETS:
            raise TransitionNotAllowed(
                f"Order {order.number}: {target.replace('_', ' ')} is not a status you set; "
                "it follows from its step (verify, batch, fill, final check or hand-out)."
            )
    return transition(session, actor, order, target, reason)


def cancel_open_orders(session: Session, actor: User, rx: Prescription, reason: str) -> None:
    for order in rx.orders:
        # Re-read under the lock: an order handed out meanwhile is no longer open.
        if lock_row(session, order).status in OPEN_STATUSES:
            transition(session, actor, order, "cancelled", reason=reason, check_roles=False)


# --- look-up ---------------------------------------------------------------------------------
# The look-up and the queue board list many orders per page; they select only the columns the
# lists show into small row objects (no ORM entities, no joined eager loading), and every query
# is bounded (keyset pages, capped counts). See docs/performance.md.


@functools.lru_cache(maxsize=4096)
def _medicine(strength_mg: Decimal, dosage_form: str, dose_mg: Decimal) -> str:
    # A handful of distinct strengths, forms and doses fill every list: worded once each.
    strength = dosing.strength_text(strength_mg, dosing.unit_for(dosage_form))
    return f"{strength} {dosage_form.replace('_', ' ')}, {dosing.mg_text(dose_mg)} a dose"


class OrderRow(NamedTuple):
    """One order as the look-up and the queue board list it (a plain row, not an entity)."""

    id: int
    prescription_id: int
    fill_number: int
    status: str
    status_reason: str | None
    promised_on: date | None
    quantity: Decimal
    quantity_unit: str
    created_at: datetime
    rx_number: str
    strength_mg: Decimal
    dosage_form: str
    patient_id: int
    first_name: str
    last_name: str
    date_of_birth: date
    dose_mg: Decimal
    is_titration: bool

    @property
    def strength_text(self) -> str:
        """The product strength as made: "4.5 mg" a capsule, "1 mg/mL"."""
        return dosing.strength_text(self.strength_mg, dosing.unit_for(self.dosage_form))

    @property
    def medicine(self) -> str:
        """ "1 mg/mL oral solution, 4.5 mg a dose" (the queue and look-up lists)."""
        return _medicine(self.strength_mg, self.dosage_form, self.dose_mg)

    @property
    def number(self) -> str:
        return f"{self.rx_number}-{self.fill_number:02d}"

    @property
    def patient_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


_O, _RX, _PT = Order.__table__, Prescription.__table__, Patient.__table__
_ROW_COLUMNS = (  # in OrderRow's order
    _O.c.id,
    _O.c.prescription_id,
    _O.c.fill_number,
    _O.c.status,
    _O.c.status_reason,
    _O.c.promised_on,
    _O.c.quantity,
    _O.c.quantity_unit,
    _O.c.created_at,
    _RX.c.rx_number,
    _RX.c.strength_mg,
    _RX.c.dosage_form,
    _PT.c.id.label("patient_id"),
    _PT.c.first_name,
    _PT.c.last_name,
    _PT.c.date_of_birth,
    _RX.c.dose_mg,
    # One probe of titration_step's (prescription_id, position) index per listed row.
    # (The titration is given with the first fill; see Order.is_titration.)
    and_(
        _O.c.fill_number == literal_column("1"),  # in the text: no parameter (see _status_param)
        exists().where(TitrationStep.__table__.c.prescription_id == _RX.c.id).correlate(_RX),
    ).label("is_titration"),
)
_ROWS_FROM = _O.join(_RX, _O.c.prescription_id == _RX.c.id).join(_PT, _RX.c.patient_id == _PT.c.id)


@dataclass
class Page:
    orders: list[OrderRow]
    next_before: int | None  # pass as `before` for the next (older) page


# The list statements are Core selects built once per shape, with bound parameters: building
# and ORM-compiling a select on every call cost more than running it (docs/performance.md).
@functools.cache
def _lookup_statement(kind: str, shape: tuple, before: bool, dialect: str = "postgresql"):
    """kind "rx" (shape: (with fill number,)), "dob", "phone", or "name" (shape: for each
    name-key prefix, whether it has an upper bound).

    On SQLite the newest-first order is written `+rx_order.id` (SQLite's documented way to keep
    an index out of a term): without table statistics its planner would otherwise walk every
    order newest first to spare a sort, probing each order's patient, rather than start from
    the few matching patients (14 ms instead of 0.15 ms at 200,000 orders, and growing with the
    table). PostgreSQL's planner has statistics and chooses by itself."""
    where = []
    if kind == "rx":
        where.append(_RX.c.rx_number == bindparam("rx"))
        if shape[0]:
            where.append(_O.c.fill_number == bindparam("fill"))
    elif kind == "dob":
        where.append(_PT.c.date_of_birth == bindparam("dob"))
    elif kind == "phone":
        # Ends with the digits = the reversed digits start with them (patients.phone_suffix).
        where.append(_PT.c.phone_reversed >= bindparam("rev"))
        where.append(_PT.c.phone_reversed < bindparam("rev_end"))
    else:  # name-key prefixes as ranges (see patients.name_key_prefix); none: every patient
        ranges = []
        for i, bounded in enumerate(shape):
            low = _PT.c.name_key >= bindparam(f"lo{i}")
            ranges.append(and_(low, _PT.c.name_key < bindparam(f"hi{i}")) if bounded else low)
        if ranges:
            where.append(or_(*ranges))
    if before:
        where.append(_O.c.id < bindparam("before"))
    return (
        select(*_ROW_COLUMNS)
        .select_from(_ROWS_FROM)
        .where(*where)
        .order_by(literal_column("+rx_order.id").desc() if dialect == "sqlite" else _O.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def _status_param(name: str):
    """A status written into the statement's text, not sent as a parameter (see below)."""
    return bindparam(name, type_=String, literal_execute=True)


# Statuses and page sizes are written into the SQL text (SQLAlchemy's literal_execute; a handful
# of values, so a handful of texts). With `status = $1` PostgreSQL's generic plan reads the
# (status, id) index blind and is ruinous (87 ms for the board), so it planned every execution
# afresh: about 1 ms of the board's 1.5. With the values in the text the prepared statement's
# plan is the right one and is reused (tests/services/test_order_lists_fast.py).
@functools.cache
def _queue_statement(after: bool):
    where = [_O.c.status == _status_param("status")]
    if after:
        where.append(_O.c.id > bindparam("after"))
    return (
        select(*_ROW_COLUMNS)
        .select_from(_ROWS_FROM)
        .where(*where)
        .order_by(_O.c.id)
        .limit(bindparam("limit", type_=Integer))
    )


def _rows(session: Session, stmt, params: dict) -> list[OrderRow]:
    return [OrderRow._make(r) for r in session.connection().execute(stmt, params).all()]


def lookup_statement(q: str, dialect: str, before: int | None = None, limit: int = PAGE_SIZE):
    """The look-up's statement and parameters (limit + 1 rows: one more tells there is a next
    page), or None for an empty query. The bench runs the same statement on the raw driver."""
    q = (q or "").strip()
    if not q:
        return None
    params: dict = {"limit": limit + 1}
    if q.upper().startswith("RX"):
        rx = parse_rx_number(q, require_check=False, field="q")
        kind, shape = "rx", (rx.fill is not None,)
        params.update(rx=format_rx_number(rx.sequence), fill=rx.fill)
    else:
        kind, values = search_terms(q)
        if kind == "dob":
            shape, params["dob"] = (), values[0]
        elif kind == "phone":
            shape = ()
            rev = values[0][::-1]
            params.update(rev=rev, rev_end=after_prefix(rev))
        else:
            uppers = [after_prefix(k) for k in values]
            shape = tuple(u is not None for u in uppers)
            for i, (key, upper) in enumerate(zip(values, uppers, strict=True)):
                params[f"lo{i}"], params[f"hi{i}"] = key, upper
    if before:
        params["before"] = before
    return _lookup_statement(kind, shape, bool(before), dialect), params


def lookup(session: Session, q: str, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """Orders matching an Rx number, a patient name prefix, a date of birth or a phone number,
    newest first, one bounded page at a time (keyset on the order id)."""
    if not (q or "").strip():
        return Page([], None)
    # The request's connection names the dialect: Flask-SQLAlchemy's get_bind costs as much as
    # a tenth of an Rx number look-up.
    rows = _rows(session, *lookup_statement(q, session.connection().dialect.name, before, limit))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def queue(
    session: Session, status: str, after: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[OrderRow], int | None]:
    """Open orders in one status, oldest first; returns the page and the `after` cursor."""
    if status not in OPEN_STATUSES:
        raise ValidationFailed.single("status", f"{status!r} is not an open order status")
    params = {"status": status, "limit": limit + 1}
    if after:
        params["after"] = after
    rows = _rows(session, _queue_statement(bool(after)), params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


# The queue board counts at most this many orders per status (shown as "1000+" beyond), so a
# page view never counts an unbounded number of rows.
COUNT_CAP = 1000


def _capped_count(status: str):
    """Open orders in one status, read from the (status, id) index up to `cap` entries."""
    first = (
        select(_O.c.id)
        .where(_O.c.status == literal(status, String, literal_execute=True))
        .limit(bindparam("cap", type_=Integer, literal_execute=True))
    )
    return select(func.count()).select_from(first.subquery(f"c_{status}")).scalar_subquery()


_COUNTS = select(*[_capped_count(s).label(s) for s in OPEN_STATUSES])


def queue_counts(session: Session, cap: int | None = None) -> dict[str, int]:
    """Open orders per status, each counted up to cap + 1 (more than `cap` means "cap+")."""
    cap = COUNT_CAP if cap is None else cap
    row = session.connection().execute(_COUNTS, {"cap": cap + 1}).one()
    return dict(zip(OPEN_STATUSES, row, strict=True))


@functools.cache
def _board_statement(columns: int):
    """The first page of several queues in one statement: each queue's oldest ids (a bounded
    index range on (status, id)), then those orders' rows, each carrying every open status's
    capped count (computed once): the board is one round trip."""
    firsts = [
        select(_O.c.id)
        .where(_O.c.status == _status_param(f"status{i}"))
        .order_by(_O.c.id)
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
        .subquery(f"q{i}")
        for i in range(columns)
    ]
    ids = union_all(*[select(q.c.id) for q in firsts])
    counts = [_capped_count(s).label(f"n_{s}") for s in OPEN_STATUSES]
    return (
        select(*_ROW_COLUMNS, *counts)
        .select_from(_ROWS_FROM)
        .where(_O.c.id.in_(ids))
        .order_by(_O.c.id)
    )


Board = list[tuple[str, list[OrderRow], int | None]]


def queue_board(
    session: Session, statuses: list[str], limit: int = BOARD_ROWS, cap: int | None = None
) -> tuple[Board, dict[str, int]]:
    """The first page of each queue, as queue() gives it, and queue_counts(), in one query
    while any listed queue has an order."""
    for status in statuses:
        if status not in OPEN_STATUSES:
            raise ValidationFailed.single("status", f"{status!r} is not an open order status")
    cap = COUNT_CAP if cap is None else cap
    params: dict = {f"status{i}": s for i, s in enumerate(statuses)}
    params.update(limit=limit + 1, cap=cap + 1)
    width = len(_ROW_COLUMNS)
    by_status: dict[str, list[OrderRow]] = {s: [] for s in statuses}
    counts = None
    for r in session.connection().execute(_board_statement(len(statuses)), params):
        row = OrderRow._make(r[:width])
        by_status[row.status].append(row)
        if counts is None:
            counts = dict(zip(OPEN_STATUSES, r[width:], strict=True))
    if counts is None:  # no row to carry the counts: the listed queues are empty, others may not be
        counts = queue_counts(session, cap)
    board = []
    for status in statuses:
        rows = by_status[status]
        more = len(rows) > limit
        rows = rows[:limit]
        board.append((status, rows, rows[-1].id if more and rows else None))
    return board, counts


def queue_order_for(roles: frozenset[str]) -> list[str]:
    first: list[str] = []
    for role in ("pharmacist", "technician", "staff"):
        if role in roles:
            first += [s for s in ROLE_WORK[role] if s not in first]
    return first + [s for s in OPEN_STATUSES if s not in first]


# Built once (bound parameters): building the select cost as much as running it.
_HISTORY = (
    select(AuditEvent)
    .where(
        or_(
            (AuditEvent.entity == "rx_order") & (AuditEvent.entity_id == bindparam("order_id")),
            (AuditEvent.entity == "prescription") & (AuditEvent.entity_id == bindparam("rx_id")),
        )
    )
    .order_by(AuditEvent.id)
)


def history(session: Session, order: Order) -> list[AuditEvent]:
    params = {"order_id": str(order.id), "rx_id": str(order.prescription_id)}
    return list(session.scalars(_HISTORY, params))


def order_dict(
    order: Order | OrderRow, *, detail: bool = False, events: list[AuditEvent] | None = None
) -> dict:
    """The API's view of an order: a list row (OrderRow) or, with `detail`, an Order entity."""
    if isinstance(order, OrderRow):
        rx_number = order.rx_number
        patient = {
            "id": order.patient_id,
            "name": order.patient_name,
            "date_of_birth": order.date_of_birth.isoformat(),
        }
    else:
        rx_number = order.prescription.rx_number
        person: Patient = order.prescription.patient
        patient = {
            "id": person.id,
            "name": person.full_name,
            "date_of_birth": person.date_of_birth.isoformat(),
        }
    data = {
        "id": order.id,
        "number": order.number,
        "rx_number": rx_number,
        "fill_number": order.fill_number,
        "status": order.status,
        "status_reason": order.status_reason,
        "promised_on": order.promised_on.isoformat() if order.promised_on else None,
        "quantity": str(order.quantity),
        "quantity_unit": order.quantity_unit,
        "created_at": order.created_at.isoformat(),
        "patient": patient,
    }
    if detail:
        rx = order.prescription
        data["prescription"] = {
            "id": rx.id,
            "status": rx.status,
            "strength_mg": str(rx.strength_mg),
            "strength": rx.strength_text,
            "dose_mg": str(rx.dose_mg),
            "titration": order.is_titration,
            "strength_basis": rx.strength_basis,
            "dosage_form": rx.dosage_form,
            "directions": rx.directions,
            "expires_on": rx.expires_on.isoformat(),
            "refills_authorized": rx.refills_authorized,
            "refills_remaining": terms(rx).refills_remaining,
        }
        data["dispensed_via"] = order.dispensed_via
        data["history"] = [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "old": e.old,
                "new": e.new,
                "reason": e.reason,
            }
            for e in (events or [])
        ]
    return data
