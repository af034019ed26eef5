"""Master formulation records in the UI: drafts, approval, versions, and never editing in place."""

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.demo import load_demo
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, ElectronicSignature, Formula, Ingredient
from tests.support import FAST_HASHER


@pytest.fixture
def formulary(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        load_demo(s, FAST_HASHER)
        s.add(Ingredient(name="Calcium carbonate USP", kind="filler", unit="mg"))
        s.add(
            Ingredient(
                name="Lactose monohydrate (dense)",
                kind="filler",
                unit="mg",
                tapped_density_mg_per_ml=250,
            )
        )
    with app.app_context():
        return {i.name.split()[0]: i.id for i in db.session.scalars(select(Ingredient))}


def draft_form(ids, **over):
    data = {
        "code": "LDN-CAP2",
        "name": "LDN capsules, size 2",
        "dosage_form": "capsule",
        "strength_min_mg": "0.5",
        "strength_max_mg": "4.5",
        "capsule_size": "2",
        "packing_stat_mg": "140",
        "overage_percent": "3",
        "active_id": ids["Naltrexone"],
        "filler_id": ids["Microcrystalline"],
        "shell_id": ids["Gelatin"],
        "vehicle_id": 0,
        "bud_category": "other_nonaqueous",
        "storage": "Room temperature",
        "container": "Amber vial",
        "method": "Geometric dilution; fill by packing statistic.",
        "qc_sample_size": "10",
        "weight_tolerance_percent": "10",
    }
    data.update(over)
    return data


def test_pharmacist_drafts_and_approves_a_formula(app, as_role, formulary):
    c = as_role("pharmacist")
    resp = c.post("/formulas/new", data=draft_form(formulary))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        f = db.session.scalar(select(Formula).where(Formula.code == "LDN-CAP2"))
        assert (f.status, f.version, f.packing_stat_mg) == ("draft", 1, 140)
        assert [ln.role for ln in f.lines] == ["active", "filler", "capsule_shell"]
        fid = f.id
    assert c.post(f"/formulas/{fid}/approve").status_code == 302
    with app.app_context():
        f = db.session.get(Formula, fid)
        assert f.status == "approved" and f.approved_by_id is not None
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "formula", AuditEvent.entity_id == str(fid)
            )
        ).all()
        assert actions == ["formula.create", "formula.approve", "signature.sign"]
        sig = db.session.scalar(
            select(ElectronicSignature).where(ElectronicSignature.entity == "formula")
        )
        assert (sig.entity, sig.entity_id, sig.meaning, sig.signer_initials) == (
            "formula",
            str(fid),
            "approved: master formulation record",
            "PH",
        )


def test_an_approved_formula_cannot_be_edited_in_place(app, as_role, formulary):
    c = as_role("pharmacist")
    with app.app_context():
        fid = db.session.scalar(select(Formula.id).where(Formula.code == "LDN-CAP"))
    assert c.get(f"/formulas/{fid}/edit").status_code == 409
    resp = c.post(
        f"/formulas/{fid}/edit", data=draft_form(formulary, code="LDN-CAP", packing_stat_mg="150")
    )
    assert resp.status_code == 409
    assert "Create a new version" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Formula, fid).packing_stat_mg == 200


def test_new_version_then_approval_retires_the_old_one(app, as_role, formulary):
    c = as_role("pharmacist")
    with app.app_context():
        v1 = db.session.scalar(select(Formula.id).where(Formula.code == "LDN-CAP"))
    resp = c.post(f"/formulas/{v1}/new-version")
    assert resp.status_code == 302
    with app.app_context():
        v2 = db.session.scalar(
            select(Formula).where(Formula.code == "LDN-CAP", Formula.version == 2)
        )
        assert v2.status == "draft" and v2.supersedes_id == v1 and len(v2.lines) == 3
        v2_id = v2.id
    resp = c.post(
        f"/formulas/{v2_id}/edit",
        data=draft_form(formulary, code="LDN-CAP", capsule_size="1", packing_stat_mg="190"),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert c.post(f"/formulas/{v2_id}/approve").status_code == 302
    with app.app_context():
        assert db.session.get(Formula, v1).status == "retired"
        assert db.session.get(Formula, v2_id).packing_stat_mg == 190
        assert db.session.get(Formula, v2_id).status == "approved"


def test_forbidden_filler_and_overfull_capsule_are_refused(app, as_role, formulary):
    c = as_role("pharmacist")
    resp = c.post("/formulas/new", data=draft_form(formulary, filler_id=formulary["Calcium"]))
    assert resp.status_code == 422
    assert "not allowed in LDN formulas" in resp.get_data(as_text=True)
    # 140 mg of lactose at 250 mg/mL = 0.56 mL > size 2's 0.37 mL
    resp = c.post("/formulas/new", data=draft_form(formulary, filler_id=formulary["Lactose"]))
    assert resp.status_code == 422
    assert "more than a size 2 capsule holds" in resp.get_data(as_text=True)
    resp = c.post(
        "/formulas/new", data=draft_form(formulary, strength_max_mg="7", bud_days_override="365")
    )
    html = resp.get_data(as_text=True)
    assert "must be at most 6.0 mg per dose" in html
    assert "needs a recorded stability reference" in html
    with app.app_context():
        assert db.session.scalar(select(Formula).where(Formula.code == "LDN-CAP2")) is None


def test_non_preserved_liquid_stored_at_room_temperature_is_refused(app, as_role, formulary):
    c = as_role("pharmacist")
    form = draft_form(
        formulary,
        code="LDN-NP",
        dosage_form="oral_solution",
        concentration_mg_per_ml="1",
        capsule_size="",
        packing_stat_mg="",
        filler_id=0,
        shell_id=0,
        vehicle_id=formulary["Oral"],
        bud_category="non_preserved_aqueous",
        storage="Store at room temperature",
    )
    resp = c.post("/formulas/new", data=form)
    assert resp.status_code == 422
    assert "only in a refrigerator" in resp.get_data(as_text=True)
    resp = c.post("/formulas/new", data={**form, "storage": "Refrigerate 2-8 °C"})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def test_retiring_needs_a_reason(app, as_role, formulary):
    c = as_role("pharmacist")
    with app.app_context():
        fid = db.session.scalar(select(Formula.id).where(Formula.code == "LDN-SOL"))
    resp = c.post(f"/formulas/{fid}/retire", data={"reason": ""})
    assert resp.status_code == 422
    assert (
        c.post(f"/formulas/{fid}/retire", data={"reason": "stability concern"}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(Formula, fid).status == "retired"


def test_technician_can_read_but_not_approve(app, as_role, formulary):
    c = as_role("technician")
    assert c.get("/formulas/").status_code == 200
    with app.app_context():
        fid = db.session.scalar(select(Formula.id).where(Formula.code == "LDN-CAP"))
    assert c.get(f"/formulas/{fid}").status_code == 200
    assert c.post(f"/formulas/{fid}/new-version").status_code == 403
