"""Batches in the UI: start (FEFO, override, frozen snapshot), weights, QC, release, numbering,
and bad input refused with nothing written. Runs on SQLite and PostgreSQL."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Balance,
    Batch,
    BatchLotUsage,
    Formula,
    IngredientLot,
    QcResult,
    SequenceCounter,
)
from tests.batch_helpers import (
    TODAY,
    latest_batch,
    passing_weights,
    seed,
    start_form,
    weights_data,
)
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _usages(app, batch_id):
    with app.app_context():
        rows = db.session.scalars(
            select(BatchLotUsage)
            .where(BatchLotUsage.batch_id == batch_id)
            .order_by(BatchLotUsage.id)
        ).all()
        return {
            u.role: (u.lot.lot_number, u.planned_quantity, u.unit, u.chosen_by_fefo) for u in rows
        }


def _audit(app, batch_id):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "batch", AuditEvent.entity_id == str(batch_id))
            .order_by(AuditEvent.id)
        ).all()


def _counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Batch)),
            db.session.scalar(select(func.count()).select_from(BatchLotUsage)),
        )


def _started(app, c, ids, **over):
    resp = c.post("/batches/new", data=start_form(ids, **over))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return latest_batch(app)


def _to_awaiting_check(app, c, bid):
    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    resp = c.post(
        f"/batches/{bid}/qc",
        data={
            "weights": passing_weights(),
            "shell_mg": "96",
            "appearance": "White opaque capsules, uniform",
            "appearance_ok": "y",
            "units_made": "100",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


# --- starting -------------------------------------------------------------------------------


def test_start_uses_fefo_lots_and_freezes_the_calculation(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert b.batch_number == f"{TODAY:%Y%m%d}-LDNCAP-001"
        assert (b.status, b.units_planned, b.unit, b.units_remaining) == (
            "in_progress",
            100,
            "capsule",
            0,
        )
        # 4.5 mg x 102 capsules (2 % overage) / potency 1.002 = 458.08 mg
        r = b.calculation["result"]
        assert (r["capsules_to_make"], r["api_mg"], r["filler_mg"]) == (102, "458.08", "19941.92")
        # BUD: 180 days for capsules, capped by the API lot actually used (expires in 45 days)
        assert b.beyond_use_date == TODAY + timedelta(days=45)
        assert "NTX-25002" in b.bud_limited_by
        assert b.calculation["lots"][0]["assay_percent"] == "100.2"
        assert b.calculation["formula"]["packing_stat_mg"] == "200"
    assert _usages(app, bid) == {
        "active": ("NTX-25002", D("458.08"), "mg", True),
        "filler": ("MCC-8841", D("19941.92"), "mg", True),
        "capsule_shell": ("CAPS1-5521", D("102"), "each", True),
    }
    events = _audit(app, bid)
    assert [e.action for e in events] == ["batch.start"]
    assert events[0].old is None and events[0].new["batch_number"].endswith("-LDNCAP-001")

    # Later changes to the formula and the lot never alter the record.
    with app.app_context(), unit_of_work() as s:
        s.get(Formula, ids["cap"]).packing_stat_mg = D("190")
        s.get(IngredientLot, ids["lots"]["NTX-25002"]).assay_percent = D("99")
    html = c.get(f"/batches/{bid}").get_data(as_text=True)
    assert "458.08 mg" in html and "19941.92 mg" in html
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert b.calculation["result"]["api_mg"] == "458.08"
        assert b.calculation["lots"][0]["assay_percent"] == "100.2"

    bid2 = _started(app, c, ids)
    with app.app_context():
        assert db.session.get(Batch, bid2).batch_number == f"{TODAY:%Y%m%d}-LDNCAP-002"


def test_overriding_fefo_needs_a_reason_and_the_bud_follows_the_lot(app, as_role, ids):
    c = as_role("technician")
    other = ids["lots"]["NTX-24117"]
    resp = c.post("/batches/new", data=start_form(ids, override_lot_ids=other))
    assert resp.status_code == 422
    assert "needs a reason" in form_error(resp, "override_reason")
    assert _counts(app) == (0, 0)

    bid = _started(
        app, c, ids, override_lot_ids=other, override_reason="NTX-25002 reserved for a trial"
    )
    # 459 mg / (0.996 x (1 - 0.008)) = 464.5558... -> 464.56 mg
    assert _usages(app, bid)["active"] == ("NTX-24117", D("464.56"), "mg", False)
    assert _usages(app, bid)["filler"][1] == D("19935.44")
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert b.beyond_use_date == TODAY + timedelta(days=180)
        usage = b.lot_usages[0]
        assert usage.override_reason == "NTX-25002 reserved for a trial"


def test_unusable_lots_and_equipment_are_refused_with_nothing_written(app, as_role, ids):
    c = as_role("technician")
    with app.app_context(), unit_of_work() as s:
        for number in ("NTX-25002", "NTX-24117"):
            s.get(IngredientLot, ids["lots"][number]).expires_on = TODAY - timedelta(days=1)
    resp = c.post("/batches/new", data=start_form(ids))
    assert resp.status_code == 422
    assert "expired" in form_error(resp, "override_lot_ids")

    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, ids["lots"]["NTX-24117"]).expires_on = TODAY + timedelta(days=90)
        s.get(IngredientLot, ids["lots"]["NTX-24117"]).status = "quarantined"
    resp = c.post(
        "/batches/new",
        data=start_form(ids, override_lot_ids=ids["lots"]["NTX-24117"], override_reason="x"),
    )
    assert resp.status_code == 422
    assert "quarantined" in form_error(resp, "override_lot_ids")

    with app.app_context(), unit_of_work() as s:
        s.get(Balance, ids["balance"]).calibration_due = TODAY - timedelta(days=1)
    resp = c.post("/batches/new", data=start_form(ids))
    assert resp.status_code == 422
    assert "due for calibration" in form_error(resp, "balance_id")

    resp = c.post("/batches/new", data=start_form(ids, strength_mg="6"))
    assert resp.status_code == 422 and "0.5–4.5 mg" in form_error(resp, "strength_mg")
    resp = c.post("/batches/new", data=start_form(ids, quantity="10.5"))
    assert resp.status_code == 422 and "whole number" in form_error(resp, "quantity")

    with app.app_context(), unit_of_work() as s:
        s.get(Formula, ids["cap"]).status = "retired"
    resp = c.post("/batches/new", data=start_form(ids))  # not offered any more
    assert resp.status_code == 422 and form_error(resp, "formula_id")
    from pharmacy.models import User
    from pharmacy.services import batches as service

    with (
        app.app_context(),
        pytest.raises(ValidationFailed, match="only an approved"),
        unit_of_work() as s,
    ):
        tech = s.scalar(select(User).where(User.username == "technician"))
        service.start_batch(
            s, tech, service.StartInput(ids["cap"], ids["balance"], D("1"), "hcl", 100)
        )
    assert _counts(app) == (0, 0)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(SequenceCounter)
                .where(SequenceCounter.name.like("batch:%"))
            )
            == 0
        )


def test_short_stock_moves_fefo_to_the_next_lot(app, as_role, ids):
    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, ids["lots"]["NTX-25002"]).quantity_received = D("458.07")
    bid = _started(app, as_role("technician"), ids)
    assert _usages(app, bid)["active"][:2] == ("NTX-24117", D("464.56"))


def test_a_failure_midway_leaves_nothing_half_written(app, as_role, ids, monkeypatch):
    from pharmacy.services import batches as service

    real = service.audit.record

    def boom(session, actor, action, *a, **kw):
        if action == "batch.start":
            raise RuntimeError("disk full")
        return real(session, actor, action, *a, **kw)

    monkeypatch.setattr(service.audit, "record", boom)
    c = as_role("technician")
    assert c.post("/batches/new", data=start_form(ids)).status_code == 500
    assert _counts(app) == (0, 0)
    monkeypatch.setattr(service.audit, "record", real)
    bid = _started(app, c, ids)
    with app.app_context():
        # the counter was rolled back with the rest
        assert db.session.get(Batch, bid).batch_number.endswith("-001")


# --- weights ------------------------------------------------------------------------------------


def test_weights_zero_overdue_balance_and_unexplained_deviation_are_refused(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    with app.app_context():
        b = db.session.get(Batch, bid)
        api, filler, shells = b.lot_usages
        api_id, filler_id = api.id, filler.id
    data = weights_data(app, bid)
    resp = c.post(f"/batches/{bid}/weights", data={**data, f"actual_{api_id}": "0"})
    assert resp.status_code == 422 and "more than zero" in form_error(resp, f"actual_{api_id}")

    # 10 % tolerance: 458.08 -> 510 mg is 11.33 % off and must be explained
    resp = c.post(f"/batches/{bid}/weights", data={**data, f"actual_{api_id}": "510"})
    assert resp.status_code == 422
    assert "11.33%" in form_error(resp, f"reason_{api_id}")

    with app.app_context(), unit_of_work() as s:
        s.add(
            Balance(
                name="Old balance",
                readability_mg=D("0.1"),
                mwq_mg=D("200"),
                calibration_due=TODAY - timedelta(days=3),
            )
        )
    with app.app_context():
        old_id = db.session.scalar(select(Balance.id).where(Balance.name == "Old balance"))
    resp = c.post(f"/batches/{bid}/weights", data={**data, f"balance_{filler_id}": old_id})
    assert resp.status_code == 422
    assert "cannot be used" in form_error(resp, f"balance_{filler_id}")
    with app.app_context():
        assert all(u.actual_quantity is None for u in db.session.get(Batch, bid).lot_usages)

    resp = c.post(
        f"/batches/{bid}/weights",
        data={**data, f"actual_{api_id}": "510", f"reason_{api_id}": "spilled, re-weighed"},
    )
    assert resp.status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.lot_usages[0].actual_quantity, b.lot_usages[0].deviation_reason) == (
            D("510"),
            "spilled, re-weighed",
        )
        assert b.lot_usages[1].deviation_reason is None  # within tolerance: nothing to explain
    event = _audit(app, bid)[-1]
    assert event.action == "batch.weights"
    assert event.old[str(api_id)]["actual_quantity"] is None
    assert event.new[str(api_id)] == {
        "actual_quantity": "510",
        "balance_id": ids["balance"],
        "deviation_reason": "spilled, re-weighed",
        "deviation_percent": "11.33",
        "weight_source": "typed",
        "container_scan": None,
    }


# --- quality check and release ------------------------------------------------------------------


def test_qc_needs_weights_and_the_formula_sample_size(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "ok",
        "appearance_ok": "y",
        "units_made": "100",
    }
    assert c.post(f"/batches/{bid}/qc", data=qc).status_code == 409  # weights first
    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    resp = c.post(f"/batches/{bid}/qc", data={**qc, "weights": passing_weights(9)})
    assert resp.status_code == 422
    assert "exactly 10 capsules" in form_error(resp, "weights")
    resp = c.post(f"/batches/{bid}/qc", data={**qc, "units_made": "103"})
    assert resp.status_code == 422 and "at most 102" in form_error(resp, "units_made")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QcResult)) == 0
        assert db.session.get(Batch, bid).status == "in_progress"


def test_a_failing_capsule_stops_the_batch_until_corrected_or_rejected(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    # target 200 mg net, +-10 %: 180-220 mg. Capsule 10 nets 221 mg.
    weights = "\n".join(["296"] * 9 + ["317"])
    resp = c.post(
        f"/batches/{bid}/qc",
        data={
            "weights": weights,
            "shell_mg": "96",
            "appearance": "ok",
            "appearance_ok": "y",
            "units_made": "100",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        # Not rejected at once: a mistyped weight may still be corrected.
        assert b.status == "in_progress" and b.units_remaining == 0
        qc = b.qc_results[0]
        assert qc.data["failures"] == ["capsule weights"]
        assert qc.passed is False
        units = qc.data["weight_check"]["units"]
        assert [u["passed"] for u in units].count(False) == 1
        assert units[9]["net_mg"] == "221" and units[9]["percent_of_target"] == "110.50"
        assert qc.data["weight_check"]["mean_net_mg"] == "202.10"
    assert [e.action for e in _audit(app, bid)][-1] == "batch.qc"
    # No second check from scratch: correct the figure or reject.
    again = c.post(
        f"/batches/{bid}/qc",
        data={
            "weights": passing_weights(),
            "shell_mg": "96",
            "appearance": "ok",
            "appearance_ok": "y",
            "units_made": "100",
        },
    )
    assert again.status_code == 409
    resp = c.post(f"/batches/{bid}/reject", data={"reason": "capsule 10 overfilled"})
    assert resp.status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.status, b.decision_reason) == ("rejected", "capsule 10 overfilled")
    assert _audit(app, bid)[-1].new == {"status": "rejected"}
    # a rejected batch is final
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 409


def test_release_needs_qc_and_a_pharmacist_other_than_the_compounder(app, as_role, ids):
    p = as_role("pharmacist")
    bid = _started(app, p, ids)
    assert as_role("checker").post(f"/batches/{bid}/release").status_code == 409  # before QC
    _to_awaiting_check(app, p, bid)
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.status, b.units_made, b.latest_qc.passed) == ("awaiting_check", 100, True)
        assert b.latest_qc.data["yield_percent"] == "100.0"

    assert as_role("technician").post(f"/batches/{bid}/release").status_code == 403
    resp = p.post(f"/batches/{bid}/release")
    assert resp.status_code == 409
    assert "another pharmacist" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Batch, bid).status == "awaiting_check"

    checker = as_role("checker")
    assert (
        checker.post(f"/batches/{bid}/release", data={"reason": "record complete"}).status_code
        == 302
    )
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.status, b.units_remaining, b.checked_by.username) == (
            "released",
            100,
            "checker",
        )
        assert b.released_at is not None
    *_, event, signed = _audit(app, bid)
    assert signed.action == "signature.sign"
    assert signed.new["meaning"] == "released: batch meets specifications"
    assert (
        event.action,
        event.old["status"],
        event.new["status"],
        event.new["units_remaining"],
    ) == ("batch.release", "awaiting_check", "released", 100)
    assert checker.post(f"/batches/{bid}/release").status_code == 409  # only once


def test_pharmacist_rejects_a_checked_batch_with_a_reason(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    _to_awaiting_check(app, c, bid)
    p = as_role("pharmacist")
    assert p.post(f"/batches/{bid}/reject", data={"reason": ""}).status_code == 422
    assert c.post(f"/batches/{bid}/reject", data={"reason": "x"}).status_code == 409  # technician
    assert p.post(f"/batches/{bid}/reject", data={"reason": "label mix-up"}).status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.status, b.decision_reason, b.units_remaining) == ("rejected", "label mix-up", 0)


def test_pages_render(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    for url in (
        "/batches/",
        "/batches/new",
        f"/batches/{bid}",
        f"/batches/{bid}/weights",
        f"/batches/{bid}/qc",
        "/batches/trace",
        f"/batches/trace?lot_id={ids['lots']['NTX-25002']}",
        "/batches/?status=in_progress",
    ):
        resp = c.get(url)
        assert resp.status_code == 200, url
    assert "20" in c.get("/batches/").get_data(as_text=True)
    html = c.get("/").get_data(as_text=True)
    assert 'data-nav="batches.index"' in html and 'data-nav="batches.trace"' in html
    assert 'data-nav="batches.index"' not in as_role("staff").get("/").get_data(as_text=True)
