"""Balances: audited create and edit, and which ones a batch may use on a given day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Balance
from pharmacy.services import equipment as eq

DAY = date(2026, 3, 10)


def add(actor, name="BAL-01", due="2026-03-10", **over) -> Balance:
    data = dict(name=name, readability_mg="0.01", mwq_mg="120", calibration_due=due)
    data.update(over)
    with unit_of_work() as s:
        return eq.create_balance(s, actor, eq.BalanceData(**data))


def test_create_and_edit_are_audited(ctx):
    bal = add(ctx["admin"], notes="bench 2")
    row = db.session.get(Balance, bal.id)
    assert (row.readability_mg, row.mwq_mg, row.calibration_due) == (
        D("0.01"),
        D("120"),
        DAY,
    )
    create = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "balance.create"))
    assert create.actor == "admin" and create.new["mwq_mg"] == "120"
    with unit_of_work() as s:
        eq.update_balance(
            s,
            ctx["pharmacist"],
            s.get(Balance, bal.id),
            eq.BalanceData("BAL-01", "0.01", "100", "2027-03-10", notes="bench 2"),
        )
    update = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "balance.update"))
    assert update.old == {"mwq_mg": "120", "calibration_due": "2026-03-10"}
    assert update.new == {"mwq_mg": "100", "calibration_due": "2027-03-10"}


def test_bad_balances_are_refused_by_field(ctx):
    add(ctx["admin"])
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        eq.create_balance(s, ctx["admin"], eq.BalanceData("bal-01", "0", "abc", "10/03/2026"))
    fields = {e.field: e.message for e in exc.value.errors}
    assert set(fields) == {"name", "readability_mg", "mwq_mg", "calibration_due"}
    assert "already exists" in fields["name"]
    assert db.session.scalar(select(func.count()).select_from(Balance)) == 1


def test_usable_balances_exclude_past_calibration_and_out_of_service(ctx):
    add(ctx["admin"], "A due today", due="2026-03-10")
    add(ctx["admin"], "B overdue", due="2026-03-09")
    add(ctx["admin"], "C retired", due="2027-01-01", active=False)
    add(ctx["admin"], "D later", due="2026-12-31")
    names = [b.name for b in eq.usable_balances(db.session, DAY)]
    assert names == ["A due today", "D later"]
    assert [b.name for b in eq.usable_balances(db.session, date(2026, 3, 11))] == ["D later"]
    overdue = db.session.scalar(select(Balance).where(Balance.name == "B overdue"))
    with pytest.raises(ValidationFailed) as exc:
        eq.require_usable_balance(db.session, overdue.id, DAY)
    assert exc.value.errors[0].field == "balance_id"
    assert exc.value.errors[0].message == (
        "balance B overdue was due for calibration on 2026-03-09"
    )
    retired = db.session.scalar(select(Balance).where(Balance.name == "C retired"))
    with pytest.raises(ValidationFailed, match="out of service"):
        eq.require_usable_balance(db.session, retired.id, DAY)
    assert eq.require_usable_balance(db.session, overdue.id, date(2026, 3, 9)).id == overdue.id
