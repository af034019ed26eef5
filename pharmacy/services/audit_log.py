"""The audit trail read as a logbook: who by name, when in local time, what in words, the
record by its number or name, and each changed field as old -> new. Read-only: the audit
table and how it is written belong to services/audit.py."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..localtime import day_start_utc, local
from ..models import (
    AuditEvent,
    Balance,
    Batch,
    Formula,
    Ingredient,
    IngredientLot,
    Order,
    Patient,
    Prescriber,
    Prescription,
    User,
)

ACTIONS = {
    "order.create": "Order created",
    "order.transition": "Order status changed",
    "prescription.create": "Prescription entered",
    "prescription.verify": "Prescription verified",
    "prescription.reject": "Prescription rejected",
    "prescription.complete": "Prescription completed",
    "screening.finding": "Screening finding",
    "screening.override": "Screening finding overridden",
    "batch.start": "Batch started",
    "batch.weights": "Weights recorded",
    "batch.qc": "Quality check recorded",
    "batch.release": "Batch released",
    "batch.transition": "Batch status changed",
    "batch.dispense": "Filled from batch",
    "lot.receive": "Lot received",
    "lot.adjust": "Lot quantity adjusted",
    "ingredient.create": "Ingredient added",
    "ingredient.update": "Ingredient changed",
    "formula.create": "Formula drafted",
    "formula.update": "Formula changed",
    "formula.approve": "Formula approved",
    "formula.retire": "Formula retired",
    "formula.new_version": "Formula new version",
    "patient.create": "Patient added",
    "patient.update": "Patient changed",
    "prescriber.create": "Prescriber added",
    "prescriber.update": "Prescriber changed",
    "balance.create": "Balance added",
    "balance.update": "Balance changed",
    "document.print": "Document printed",
    "document.reprint": "Document reprinted",
    "label.verify": "Label scanned",
    "user.create": "User created",
    "user.roles": "User roles changed",
    "user.disable": "User disabled",
    "user.enable": "User enabled",
    "user.password_change": "Password changed",
    "session.start": "Signed in",
    "session.end": "Signed out",
    "api_token.create": "API token issued",
    "api_token.revoke": "API token revoked",
    "pharmacy.create": "Pharmacy set up",
    "pharmacy.update": "Pharmacy details changed",
    "demo.load": "Demo data loaded",
}
RECORDS = {
    "rx_order": "Order",
    "prescription": "Prescription",
    "batch": "Batch",
    "ingredient_lot": "Lot",
    "ingredient": "Ingredient",
    "formula": "Formula",
    "patient": "Patient",
    "prescriber": "Prescriber",
    "balance": "Balance",
    "user": "User",
    "api_token": "API token",
    "pharmacy_profile": "Pharmacy",
    "database": "Database",
}
CSV_COLUMNS = ["when", "who", "what", "record", "field", "old", "new", "reason"]
EXPORT_LIMIT = 100_000


@dataclass
class Filters:
    user_id: int | None = None
    action: str = ""
    entity: str = ""
    entity_id: str = ""
    since: date | None = None
    until: date | None = None


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Entry:
    id: int
    at: datetime  # local time
    who: str
    what: str
    record: str
    changes: list[Change]
    reason: str
    hidden: bool = False  # patient detail withheld from someone who does not work with patients


# Records about a patient's care: an administrator without a patient-facing role sees that the
# event happened, not its detail (doses, names, reasons).
PATIENT_ENTITIES = frozenset(
    {"patient", "prescription", "rx_order", "order", "dispense", "patient_data", "label_print"}
)


def statement(f: Filters):
    stmt = select(AuditEvent)
    if f.user_id:
        stmt = stmt.where(AuditEvent.user_id == f.user_id)
    if f.action:
        stmt = stmt.where(AuditEvent.action.startswith(f.action))
    if f.entity:
        stmt = stmt.where(AuditEvent.entity == f.entity)
    if f.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == f.entity_id)
    if f.since:
        stmt = stmt.where(AuditEvent.at >= day_start_utc(f.since))
    if f.until:
        stmt = stmt.where(AuditEvent.at < day_start_utc(f.until + timedelta(days=1)))
    return stmt


def page(session: Session, f: Filters, before: int | None, size: int, show_patients: bool):
    """One page, newest first (keyset on id), as logbook entries; and the next `before`."""
    stmt = statement(f)
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    rows = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return entries(session, rows, show_patients), (rows[-1].id if more and rows else None)


def export(session: Session, f: Filters, show_patients: bool):
    """All matching events, oldest first, in chunks (bounded by EXPORT_LIMIT)."""
    after, done = 0, 0
    while done < EXPORT_LIMIT:
        rows = list(
            session.scalars(
                statement(f).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(500)
            )
        )
        if not rows:
            return
        yield from entries(session, rows, show_patients)
        after, done = rows[-1].id, done + len(rows)


# Fields that hold the id of another record, shown by that record's name.
REFERENCES = {
    "patient_id": "patient",
    "prescriber_id": "prescriber",
    "formula_id": "formula",
    "batch_id": "batch",
    "lot_id": "ingredient_lot",
    "ingredient_id": "ingredient",
    "order_id": "rx_order",
    "prescription_id": "prescription",
    "balance_id": "balance",
    "user_id": "user",
}


def _reference(key: str) -> str | None:
    if key.endswith("_by_id"):
        return "user"
    return REFERENCES.get(key)


@dataclass
class _Ref:
    entity: str
    entity_id: str | None


def entries(session: Session, rows: list[AuditEvent], show_patients: bool) -> list[Entry]:
    users = _names(session, {r.user_id for r in rows if r.user_id})
    refs = [
        _Ref(kind, str(v))
        for r in rows
        for data in (r.old or {}, r.new or {})
        for k, v in data.items()
        if (kind := _reference(k)) and isinstance(v, int)
    ]
    records = _records(session, [*rows, *refs], show_patients)

    def named(key: str, value):
        kind = _reference(key)
        if kind and isinstance(value, int):
            return records.get((kind, str(value))) or _record_label(kind, str(value))
        return value

    return [
        Entry(
            id=r.id,
            at=local(r.at),
            who=users.get(r.user_id) or r.actor,
            what=ACTIONS.get(r.action) or r.action.replace(".", " ").replace("_", " ").capitalize(),
            record=records.get((r.entity, r.entity_id)) or _record_label(r.entity, r.entity_id),
            changes=[] if hide else changes(r.old, r.new, True, named),
            reason="" if hide else r.reason or "",
            hidden=hide,
        )
        for r in rows
        for hide in [not show_patients and r.entity in PATIENT_ENTITIES]
    ]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids)))
    return {i: f"{full} ({username})" for i, full, username in rows}


def _record_label(entity: str, entity_id: str | None) -> str:
    kind = RECORDS.get(entity, entity.replace("_", " ").capitalize())
    return f"{kind} #{entity_id}" if entity_id else kind


def _ids(rows, entity: str) -> list[int]:
    return [int(r.entity_id) for r in rows if r.entity == entity and (r.entity_id or "").isdigit()]


def _records(session: Session, rows, show_patients: bool) -> dict[tuple, str]:
    """Human names of the records on this page, one query per kind of record."""
    out: dict[tuple, str] = {}
    lookups: dict[str, Any] = {
        "rx_order": lambda ids: [
            (o.id, f"Order {o.number}")
            for o in session.scalars(select(Order).where(Order.id.in_(ids)))
        ],
        "prescription": lambda ids: session.execute(
            select(Prescription.id, "Prescription " + Prescription.rx_number).where(
                Prescription.id.in_(ids)
            )
        ),
        "batch": lambda ids: session.execute(
            select(Batch.id, "Batch " + Batch.batch_number).where(Batch.id.in_(ids))
        ),
        "ingredient_lot": lambda ids: [
            (lot.id, f"Lot {lot.lot_number} ({lot.ingredient.name})")
            for lot in session.scalars(select(IngredientLot).where(IngredientLot.id.in_(ids)))
        ],
        "ingredient": lambda ids: session.execute(
            select(Ingredient.id, Ingredient.name).where(Ingredient.id.in_(ids))
        ),
        "formula": lambda ids: [
            (f.id, f"Formula {f.code} v{f.version}")
            for f in session.scalars(select(Formula).where(Formula.id.in_(ids)))
        ],
        "prescriber": lambda ids: [
            (p.id, p.display_name)
            for p in session.scalars(select(Prescriber).where(Prescriber.id.in_(ids)))
        ],
        "balance": lambda ids: session.execute(
            select(Balance.id, "Balance " + Balance.name).where(Balance.id.in_(ids))
        ),
        "user": lambda ids: list(_names(session, set(ids)).items()),
    }
    if show_patients:
        lookups["patient"] = lambda ids: [
            (p.id, f"Patient {p.first_name} {p.last_name}")
            for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))
        ]
    wanted: dict[str, list[int]] = defaultdict(list)
    for entity in lookups:
        wanted[entity] = _ids(rows, entity)
    for entity, ids in wanted.items():
        if ids:
            for i, label in lookups[entity](ids):
                out[(entity, str(i))] = label
    return out


PATIENT_FIELDS = {
    "first_name",
    "last_name",
    "date_of_birth",
    "phone",
    "address",
    "allergies",
    "medications",
    "pregnant",
    "breastfeeding",
    "liver_disease",
    "name_key",
    "phone_digits",
}


def changes(
    old: dict | None, new: dict | None, show_detail: bool = True, named=None
) -> list[Change]:
    """Each field once, old -> new, in words; patient detail hidden unless allowed."""
    old, new = old or {}, new or {}
    keys = list(dict.fromkeys([*old.keys(), *new.keys()]))
    out = []
    for k in keys:
        if k in ("updated_at", "created_at", "id"):
            continue
        if not show_detail and k in PATIENT_FIELDS:
            out.append(Change(_field(k), "hidden", "hidden"))
            continue
        before, after = old.get(k, _ABSENT), new.get(k, _ABSENT)
        if before == after:
            continue
        if named is not None:
            before = before if before is _ABSENT else named(k, before)
            after = after if after is _ABSENT else named(k, after)
        out.append(Change(_field(k), _value(before), _value(after)))
    return out


_ABSENT = object()


def _field(key: str) -> str:
    from ..web.humanize import term

    words = term(key)
    for suffix, unit in ((" mg", " (mg)"), (" ml", " (mL)"), (" percent", " (%)")):
        if words.endswith(suffix):
            words = words[: -len(suffix)] + unit
    if words.endswith(" id"):
        words = words[:-3]
    return words[:1].upper() + words[1:]


def _value(v) -> str:
    from ..web.humanize import term

    if v is _ABSENT or v is None or v == "":
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v) or "—"
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    if isinstance(v, str) and "_" in v and " " not in v:
        return term(v)
    if isinstance(v, str) and len(v) >= 19 and v[4:5] == "-" and v[10:11] == "T":
        try:
            return local(datetime.fromisoformat(v)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return v
    return str(v)
