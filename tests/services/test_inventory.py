"""Ingredients, lot receipt and release, stock on hand, adjustments and FEFO: real rows, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import TransitionNotAllowed, ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, BatchLotUsage, Ingredient, IngredientLot, LotAdjustment
from pharmacy.models.inventory import MovementUnitMismatch
from pharmacy.services import inventory as inv
from tests.services.conftest import make_batch

TODAY = date(2026, 1, 5)


def fields(exc: ValidationFailed) -> dict[str, str]:
    return {e.field: e.message for e in exc.errors}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audits(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def naltrexone(actor, **over) -> Ingredient:
    data = dict(
        name="Naltrexone hydrochloride USP",
        kind="api",
        unit="mg",
        salt_form="hydrochloride",
        molecular_weight="377.86",
        base_molecular_weight="341.40",
        reorder_point="5000",
    )
    data.update(over)
    with unit_of_work() as s:
        return inv.create_ingredient(s, actor, inv.IngredientData(**data))


def receipt(ingredient_id=None, **over) -> inv.LotReceipt:
    data = dict(
        ingredient_id=ingredient_id,
        lot_number="NTX-1",
        supplier="PCCA",
        manufacturer="SpecGx",
        expiry="2027-03",
        quantity="25",
        unit="g",
        assay_percent="99.6",
        assay_basis="anhydrous",
        water_percent="0.8",
        received_on=TODAY,
    )
    data.update(over)
    return inv.LotReceipt(**data)


def receive(actor, ingredient_id, **over) -> IngredientLot:
    with unit_of_work() as s:
        return inv.receive_lot(s, actor, receipt(ingredient_id, **over), today=TODAY)


def released(ctx, ingredient_id, **over) -> IngredientLot:
    lot = receive(ctx["technician"], ingredient_id, **over)
    with unit_of_work() as s:
        inv.set_lot_status(s, ctx["pharmacist"], lot, "released", "CoA checked", today=TODAY)
    return lot


# ---------------------------------------------------------------- ingredients


def test_create_ingredient_writes_the_row_and_the_audit(ctx):
    ing = naltrexone(ctx["pharmacist"])
    row = db.session.get(Ingredient, ing.id)
    assert (row.kind, row.unit, row.salt_form) == ("api", "mg", "hydrochloride")
    assert row.molecular_weight == D("377.86") and row.base_molecular_weight == D("341.4")
    assert row.reorder_point == D("5000")
    [event] = audits("ingredient.create")
    assert event.actor == "pharmacist" and event.entity_id == str(ing.id)
    assert event.old is None and event.new["molecular_weight"] == "377.86"


def test_ingredient_rules_name_every_bad_field_and_write_nothing(ctx):
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.create_ingredient(
            s,
            ctx["pharmacist"],
            inv.IngredientData(
                name="Naltrexone HCl",
                kind="api",
                unit="mL",
                salt_form="hydrochloride",
                molecular_weight="341.40",
                base_molecular_weight="377.86",
                reorder_point="-1",
            ),
        )
    errors = fields(exc.value)
    assert set(errors) == {"unit", "base_molecular_weight", "reorder_point"}
    assert "must be below the salt's molecular weight" in errors["base_molecular_weight"]
    assert count(Ingredient) == 0 and audits("ingredient.create") == []


def test_salt_needs_both_molecular_weights_and_shells_need_a_size(ctx):
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.create_ingredient(
            s, ctx["pharmacist"], inv.IngredientData("NTX", "api", "mg", "hydrochloride")
        )
    assert set(fields(exc.value)) == {"molecular_weight", "base_molecular_weight"}
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.create_ingredient(
            s, ctx["pharmacist"], inv.IngredientData("Shells", "capsule_shell", "each")
        )
    assert fields(exc.value) == {"capsule_size": "is required for capsule shells"}
    with unit_of_work() as s:
        shell = inv.create_ingredient(
            s,
            ctx["pharmacist"],
            inv.IngredientData(
                "Gelatin shells size 1",
                "capsule_shell",
                "each",
                capsule_size="1",
                capsule_colour="white",
            ),
        )
    assert (shell.capsule_size, shell.capsule_colour) == ("1", "white")


def test_duplicate_name_is_refused_whatever_the_case(ctx):
    naltrexone(ctx["pharmacist"])
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.create_ingredient(
            s, ctx["pharmacist"], inv.IngredientData("NALTREXONE HYDROCHLORIDE USP", "api", "mg")
        )
    assert "already exists" in fields(exc.value)["name"]
    assert count(Ingredient) == 1


def test_update_ingredient_audits_only_what_changed(ctx):
    ing = naltrexone(ctx["pharmacist"])
    with unit_of_work() as s:
        inv.update_ingredient(
            s,
            ctx["pharmacist"],
            s.get(Ingredient, ing.id),
            inv.IngredientData(
                name="Naltrexone hydrochloride USP",
                kind="api",
                unit="mg",
                salt_form="hydrochloride",
                molecular_weight="377.86",
                base_molecular_weight="341.40",
                reorder_point="8000",
            ),
        )
    [event] = audits("ingredient.update")
    assert event.old == {"reorder_point": "5000"}
    assert event.new == {"reorder_point": "8000"}
    assert db.session.get(Ingredient, ing.id).reorder_point == D("8000")


def test_unit_cannot_change_once_lots_exist(ctx):
    ing = naltrexone(ctx["pharmacist"])
    receive(ctx["technician"], ing.id)
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.update_ingredient(
            s,
            ctx["pharmacist"],
            s.get(Ingredient, ing.id),
            inv.IngredientData("Naltrexone hydrochloride USP", "api", "g", "base"),
        )
    assert "cannot change from mg" in fields(exc.value)["unit"]
    assert db.session.get(Ingredient, ing.id).unit == "mg"


# ---------------------------------------------------------------- receipt


def test_receipt_starts_quarantined_month_only_expiry_is_the_last_day_and_g_becomes_mg(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(ctx["technician"], ing.id, expiry="2028-02")
    row = db.session.get(IngredientLot, lot.id)
    assert row.status == "quarantined"
    assert row.expires_on == date(2028, 2, 29) and row.expiry_month_only is True
    assert (row.quantity_received, row.unit) == (D("25000"), "mg")
    assert (row.assay_percent, row.assay_basis, row.water_percent) == (
        D("99.6"),
        "anhydrous",
        D("0.8"),
    )
    assert row.received_by_id == ctx["technician"].id and row.received_on == TODAY
    [event] = audits("lot.receive")
    assert event.actor == "technician"
    assert event.new["entered_quantity"] == "25 g" and event.new["quantity_received"] == "25000"
    assert event.new["status"] == "quarantined" and event.new["expires_on"] == "2028-02-29"


def test_full_date_and_slash_month_expiries(ctx):
    ing = naltrexone(ctx["pharmacist"])
    a = receive(ctx["technician"], ing.id, lot_number="A", expiry="2027-03-15")
    b = receive(ctx["technician"], ing.id, lot_number="B", expiry="04/2027")
    assert (a.expires_on, a.expiry_month_only) == (date(2027, 3, 15), False)
    assert (b.expires_on, b.expiry_month_only) == (date(2027, 4, 30), True)


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"assay_percent": "0"}, "assay_percent", "must be above 0"),
        ({"assay_percent": "110.01"}, "assay_percent", "at most 110"),
        ({"water_percent": "100"}, "water_percent", "below 100"),
        ({"water_percent": "-1"}, "water_percent", "zero or more"),
        ({"water_percent": ""}, "water_percent", "required for an anhydrous assay"),
        ({"assay_percent": "", "assay_basis": ""}, "assay_percent", "required for an API"),
        ({"assay_basis": "wet"}, "assay_basis", "as_is or anhydrous"),
        ({"expiry": "2026-01-04"}, "expiry", "expired on 2026-01-04"),
        ({"expiry": "March"}, "expiry", "is not an expiry date"),
        ({"quantity": "0"}, "quantity", "must be above 0"),
        ({"quantity": "1.23456"}, "quantity", "at most 4 decimal places"),
        ({"unit": "mL"}, "unit", "cannot be converted"),
        ({"supplier": "  "}, "supplier", "is required"),
        ({"ingredient_id": 999}, "ingredient_id", "known ingredient"),
        ({"received_on": TODAY + timedelta(days=1)}, "received_on", "future"),
    ],
)
def test_bad_receipts_are_refused_by_field_with_nothing_written(ctx, over, field, message):
    ing = naltrexone(ctx["pharmacist"])
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        data = receipt(**{"ingredient_id": ing.id, **over})
        inv.receive_lot(s, ctx["technician"], data, today=TODAY)
    assert message in fields(exc.value)[field]
    assert count(IngredientLot) == 0 and audits("lot.receive") == []


def test_assay_and_water_boundaries_are_accepted(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(
        ctx["technician"], ing.id, assay_percent="110", water_percent="0", expiry="2026-01-05"
    )
    assert (lot.assay_percent, lot.water_percent) == (D("110"), D("0"))


def test_as_is_assay_needs_no_water_and_fillers_need_no_assay(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(ctx["technician"], ing.id, assay_basis="as_is", water_percent="")
    assert lot.water_percent is None
    with unit_of_work() as s:
        mcc = inv.create_ingredient(
            s, ctx["pharmacist"], inv.IngredientData("MCC", "filler", "mg", reorder_point="1000")
        )
    lot = receive(
        ctx["technician"],
        mcc.id,
        lot_number="MCC-1",
        assay_percent="",
        assay_basis="",
        water_percent="",
        quantity="2",
        unit="g",
    )
    assert lot.assay_percent is None and lot.quantity_received == D("2000")


def test_the_same_lot_number_cannot_be_received_twice(ctx):
    ing = naltrexone(ctx["pharmacist"])
    receive(ctx["technician"], ing.id)
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.receive_lot(s, ctx["technician"], receipt(ing.id, lot_number="ntx-1"), today=TODAY)
    assert "already received on 2026-01-05" in fields(exc.value)["lot_number"]
    assert count(IngredientLot) == 1


# ---------------------------------------------------------------- release / reject


def test_pharmacist_releases_with_the_decision_recorded(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(ctx["technician"], ing.id)
    with unit_of_work() as s:
        inv.set_lot_status(
            s,
            ctx["pharmacist"],
            s.get(IngredientLot, lot.id),
            "released",
            "CoA reviewed",
            today=TODAY,
        )
    row = db.session.get(IngredientLot, lot.id)
    assert row.status == "released" and row.status_changed_by_id == ctx["pharmacist"].id
    assert row.status_changed_at is not None and row.status_reason == "CoA reviewed"
    [event] = audits("lot.released")
    assert event.old == {"status": "quarantined", "status_reason": None}
    assert event.new == {"status": "released", "status_reason": "CoA reviewed"}
    assert event.reason == "CoA reviewed"


def test_only_a_pharmacist_may_release(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(ctx["technician"], ing.id)
    with pytest.raises(TransitionNotAllowed, match="only a pharmacist"), unit_of_work() as s:
        inv.set_lot_status(s, ctx["technician"], s.get(IngredientLot, lot.id), "released")
    assert db.session.get(IngredientLot, lot.id).status == "quarantined"
    assert audits("lot.released") == []


def test_reject_needs_a_reason_and_is_final(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(ctx["technician"], ing.id)
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.set_lot_status(s, ctx["pharmacist"], s.get(IngredientLot, lot.id), "rejected", " ")
    assert "reason" in fields(exc.value)
    with unit_of_work() as s:
        inv.set_lot_status(
            s,
            ctx["pharmacist"],
            s.get(IngredientLot, lot.id),
            "rejected",
            "CoA assay out of specification",
        )
    assert db.session.get(IngredientLot, lot.id).status == "rejected"
    with pytest.raises(TransitionNotAllowed, match="final"), unit_of_work() as s:
        inv.set_lot_status(s, ctx["pharmacist"], s.get(IngredientLot, lot.id), "released")


def test_an_expired_lot_cannot_be_released(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = receive(ctx["technician"], ing.id, expiry="2026-01-31")
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.set_lot_status(
            s, ctx["pharmacist"], s.get(IngredientLot, lot.id), "released", today=date(2026, 2, 1)
        )
    assert "expired on 2026-01-31" in fields(exc.value)["status"]


def test_a_released_lot_can_be_recalled_and_the_database_accepts_it(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = released(ctx, ing.id)
    with unit_of_work() as s:
        inv.set_lot_status(
            s, ctx["pharmacist"], s.get(IngredientLot, lot.id), "recalled", "supplier recall R-12"
        )
    assert db.session.get(IngredientLot, lot.id).status == "recalled"
    assert inv.usable_lots(db.session, ing.id, TODAY) == []


def test_the_database_refuses_an_unknown_status_and_a_zero_receipt(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot_id = receive(ctx["technician"], ing.id).id
    db.session.rollback()  # SQLite: let the separate connection below take the write lock
    for sql in (
        "UPDATE ingredient_lot SET status = 'lost' WHERE id = :id",
        "UPDATE ingredient_lot SET quantity_received = 0 WHERE id = :id",
    ):
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text(sql), {"id": lot_id})


# ---------------------------------------------------------------- stock


def test_stock_on_hand_is_receipt_plus_adjustments_minus_usage_to_the_mg(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = released(ctx, ing.id)
    with unit_of_work() as s:
        inv.record_adjustment(
            s,
            ctx["technician"],
            s.get(IngredientLot, lot.id),
            "spillage",
            "12.5",
            "mg",
            "dropped weigh boat",
        )
        batch = make_batch(s, ctx["technician"])
        s.add_all(
            [
                BatchLotUsage(
                    batch_id=batch.id,
                    lot_id=lot.id,
                    role="active",
                    planned_quantity=D("1000.25"),
                    unit="mg",
                ),
                BatchLotUsage(
                    batch_id=batch.id,
                    lot_id=lot.id,
                    role="active",
                    planned_quantity=D("300"),
                    actual_quantity=D("300.1"),
                    unit="mg",
                ),
            ]
        )
    stock = inv.lot_stock(db.session, lot.id)
    assert stock.received == D("25000")
    assert stock.adjusted == D("-12.5")
    assert stock.used == D("1300.35")
    assert stock.on_hand == D("23687.15") and stock.unit == "mg"


def test_a_usage_in_another_unit_than_the_lot_is_refused(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = released(ctx, ing.id)
    with pytest.raises(MovementUnitMismatch), unit_of_work() as s:
        batch = make_batch(s, ctx["technician"])
        s.add(
            BatchLotUsage(
                batch_id=batch.id, lot_id=lot.id, role="active", planned_quantity=D("1"), unit="g"
            )
        )
        s.flush()
    assert count(BatchLotUsage) == 0
    assert inv.to_lot_unit(lot, D("1.5"), "g") == D("1500")


def test_adjustments_need_a_reason_and_cannot_take_more_than_is_there(ctx):
    ing = naltrexone(ctx["pharmacist"])
    lot = released(ctx, ing.id, quantity="100", unit="mg")
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.record_adjustment(
            s, ctx["technician"], s.get(IngredientLot, lot.id), "spillage", "10", "mg", ""
        )
    assert fields(exc.value) == {"reason": "is required for a stock adjustment"}
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        inv.record_adjustment(
            s,
            ctx["technician"],
            s.get(IngredientLot, lot.id),
            "damaged",
            "0.1001",
            "g",
            "jar cracked",
        )
    assert "holds 100 mg" in fields(exc.value)["quantity"]
    assert count(LotAdjustment) == 0 and audits("lot.adjust") == []

    with unit_of_work() as s:
        inv.record_adjustment(
            s,
            ctx["technician"],
            s.get(IngredientLot, lot.id),
            "count_correction",
            "-0.025",
            "g",
            "recount on 5 Jan",
        )
    adj = db.session.scalar(select(LotAdjustment))
    assert (adj.quantity, adj.unit, adj.kind) == (D("-25"), "mg", "count_correction")
    [event] = audits("lot.adjust")
    assert event.old == {"on_hand": "100", "unit": "mg"}
    assert event.new["on_hand"] == "75" and event.reason == "recount on 5 Jan"
    assert inv.lot_stock(db.session, lot.id).on_hand == D("75")


# ---------------------------------------------------------------- usability and FEFO


def test_usable_lots_are_released_in_date_in_stock_and_first_expiry_first(ctx):
    ing = naltrexone(ctx["pharmacist"])
    late = released(ctx, ing.id, lot_number="LATE", expiry="2027-06-30")
    early = released(
        ctx, ing.id, lot_number="EARLY", expiry="2026-06-30", quantity="100", unit="mg"
    )
    mid = released(ctx, ing.id, lot_number="MID", expiry="2026-12")
    receive(ctx["technician"], ing.id, lot_number="QUAR", expiry="2026-02-28")
    rej = receive(ctx["technician"], ing.id, lot_number="REJ", expiry="2026-02-28")
    with unit_of_work() as s:
        inv.set_lot_status(s, ctx["pharmacist"], s.get(IngredientLot, rej.id), "rejected", "bad")
    soon = released(ctx, ing.id, lot_number="SOON", expiry="2026-01-31")
    empty = released(ctx, ing.id, lot_number="EMPTY", expiry="2026-03-01", quantity="5", unit="mg")
    with unit_of_work() as s:
        inv.record_adjustment(
            s,
            ctx["technician"],
            s.get(IngredientLot, empty.id),
            "spillage",
            "5",
            "mg",
            "all spilled",
        )

    def numbers(on, needed=None):
        return [s.lot.lot_number for s in inv.usable_lots(db.session, ing.id, on, needed)]

    assert numbers(TODAY) == ["SOON", "EARLY", "MID", "LATE"]
    assert numbers(date(2026, 1, 31)) == ["SOON", "EARLY", "MID", "LATE"]  # good through expiry
    assert numbers(date(2026, 2, 1)) == ["EARLY", "MID", "LATE"]
    assert numbers(TODAY, needed=D("100.0001")) == ["SOON", "MID", "LATE"]
    stocks = inv.usable_lots(db.session, ing.id, TODAY)
    assert [s.on_hand for s in stocks] == [D("25000"), D("100"), D("25000"), D("25000")]
    assert {late.id, early.id, mid.id, soon.id} == {s.lot.id for s in stocks}


def test_require_usable_lot_says_why_not(ctx):
    ing = naltrexone(ctx["pharmacist"])
    quarantined = receive(ctx["technician"], ing.id, expiry="2026-02")
    with pytest.raises(ValidationFailed) as exc:
        inv.require_usable_lot(
            db.session, quarantined.id, date(2026, 3, 1), D("1"), field_name="lots[0]"
        )
    messages = [e.message for e in exc.value.errors]
    assert messages == ["lot NTX-1 is quarantined", "lot NTX-1 expired on 2026-02-28"]
    assert {e.field for e in exc.value.errors} == {"lots[0]"}
    ok = released(ctx, ing.id, lot_number="OK", quantity="50", unit="mg")
    with pytest.raises(ValidationFailed, match="holds 50, 60 is needed"):
        inv.require_usable_lot(db.session, ok.id, TODAY, D("60"))
    assert inv.require_usable_lot(db.session, ok.id, TODAY, D("50")).on_hand == D("50")


def test_lock_lots_returns_rows_in_id_order(ctx):
    ing = naltrexone(ctx["pharmacist"])
    a = receive(ctx["technician"], ing.id, lot_number="A")
    b = receive(ctx["technician"], ing.id, lot_number="B")
    with unit_of_work() as s:
        assert [lot.id for lot in inv.lock_lots(s, [b.id, a.id, b.id])] == [a.id, b.id]


# ---------------------------------------------------------------- inventory views


def test_expiring_lots_and_reorder_points(ctx):
    ing = naltrexone(ctx["pharmacist"])  # reorder point 5000 mg
    released(ctx, ing.id, lot_number="IN60", expiry="2026-03-06", quantity="3000", unit="mg")
    receive(ctx["technician"], ing.id, lot_number="Q", expiry="2026-02-01", quantity="9", unit="g")
    released(ctx, ing.id, lot_number="FAR", expiry="2027-01", quantity="1000", unit="mg")
    with unit_of_work() as s:
        mcc = inv.create_ingredient(
            s, ctx["pharmacist"], inv.IngredientData("MCC", "filler", "mg", reorder_point="100")
        )
    released(
        ctx,
        mcc.id,
        lot_number="M1",
        quantity="1",
        unit="g",
        assay_percent="",
        assay_basis="",
        water_percent="",
    )

    lots, more = inv.expiring_lots(db.session, TODAY, 60)
    assert [s.lot.lot_number for s in lots] == ["Q", "IN60"] and more is False
    lots, _ = inv.expiring_lots(db.session, TODAY, 30)
    assert [s.lot.lot_number for s in lots] == ["Q"]

    # Usable (released, in date) naltrexone: 3000 + 1000 = 4000 mg < 5000; quarantined 9 g
    # does not count. MCC holds 1000 mg >= 100.
    low, more = inv.below_reorder_point(db.session, TODAY)
    assert [(r.ingredient.name, r.usable) for r in low] == [
        ("Naltrexone hydrochloride USP", D("4000"))
    ]
    # After IN60 expires only 1000 mg is usable.
    low, _ = inv.below_reorder_point(db.session, date(2026, 3, 7))
    assert low[0].usable == D("1000")


def test_list_lots_pages_and_filters(ctx):
    ing = naltrexone(ctx["pharmacist"])
    for i in range(5):
        receive(ctx["technician"], ing.id, lot_number=f"L{i}", expiry=f"2027-0{i + 1}")
    first = inv.list_lots(db.session, page=1, per_page=2)
    assert [s.lot.lot_number for s in first.items] == ["L0", "L1"] and first.has_next
    last = inv.list_lots(db.session, page=3, per_page=2)
    assert [s.lot.lot_number for s in last.items] == ["L4"] and not last.has_next
    assert inv.list_lots(db.session, statuses=["released"]).items == []
    assert [s.lot.lot_number for s in inv.list_lots(db.session, q="l3").items] == ["L3"]
