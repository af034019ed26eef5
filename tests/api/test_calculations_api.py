"""The fixed JSON contract of /api/v1/calculations/*, with exact expected numbers."""

import pytest

CAPSULES = "/api/v1/calculations/capsules"
LIQUIDS = "/api/v1/calculations/liquids"
WEIGHT = "/api/v1/calculations/weight-check"


def capsule_body(**over):
    body = {
        "strength_mg": "4.5",
        "strength_basis": "hcl",
        "quantity": 30,
        "overage_percent": "0",
        "capsule_size": "1",
        "filler": {
            "name": "Microcrystalline cellulose",
            "fill_mg_per_capsule": "200",
            "tapped_density_mg_per_ml": "400",
        },
        "api_lot": {"assay_percent": "100", "assay_basis": "as_is"},
        "balance": {"mwq_mg": "120"},
        "compounded_on": "2026-11-26",
        "component_expiries": [{"name": "Naltrexone HCl lot N1", "expires": "2028-01"}],
    }
    body.update(over)
    return body


def test_capsules_without_aliquot(api):
    # 4.5 mg x 100 caps = 450 mg API (>= 120 mg MWQ); total 200 x 100 = 20000; filler 19550.
    resp = api("technician").post(CAPSULES, json=capsule_body(quantity=100))
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert out["capsules_to_make"] == 100
    assert out["api_mg"] == "450.00"
    assert out["total_powder_mg"] == "20000.00"
    assert out["filler_mg"] == "19550.00"
    assert out["fill_target_mg"] == "200"
    assert (out["fill_min_mg"], out["fill_max_mg"]) == ("180", "220")
    assert out["aliquot"] is None
    assert out["bud"] == "2027-05-25"  # 2026-11-26 + 180 days
    assert out["steps"] and all({"label", "formula", "value"} <= set(s) for s in out["steps"])


def test_capsules_with_aliquot_and_overage(api):
    # N=30, overage 2% -> n = 30 + ceil(0.6) = 31; A = 1.5 x 31 = 46.5 mg < 120 -> aliquot:
    # m = ceil(120/46.5) = 3; stock API = 139.50; Q = 120 unless 3x120-139.5 = 220.5 < 120 (no)
    # stock total 360; diluent 220.50; filler = 31 x 200 - 120 = 6080.
    resp = api("pharmacist").post(
        CAPSULES, json=capsule_body(strength_mg="1.5", quantity=30, overage_percent="2")
    )
    out = resp.get_json()
    assert resp.status_code == 200, out
    assert out["capsules_to_make"] == 31
    assert out["api_mg"] == "46.50"
    assert out["aliquot"] == {
        "multiple": 3,
        "stock_api_mg": "139.50",
        "diluent_mg": "220.50",
        "stock_total_mg": "360.00",
        "aliquot_mg": "120.00",
    }
    assert out["filler_mg"] == "6080.00"


def test_capsules_base_strength_and_anhydrous_potency(api):
    # 4.5 mg base -> 4.5 x 377.86 / 341.40 = 4.98054... mg HCl per capsule; x 100 = 498.0536...
    # potency = 0.996 x (1 - 0.008) = 0.988032; API = 498.0536.../0.988032 = 504.086... -> 504.09
    resp = api("technician").post(
        CAPSULES,
        json=capsule_body(
            quantity=100,
            strength_basis="base",
            api_lot={"assay_percent": "99.6", "assay_basis": "anhydrous", "water_percent": "0.8"},
        ),
    )
    out = resp.get_json()
    assert resp.status_code == 200, out
    assert out["api_mg"] == "504.09"


def test_every_bad_field_is_named_with_422(api):
    resp = api("technician").post(
        CAPSULES,
        json=capsule_body(
            strength_mg="0",
            quantity="2.5",
            overage_percent="-1",
            capsule_size="7",
            api_lot={"assay_percent": "120", "assay_basis": "anhydrous"},
            balance={"mwq_mg": "0"},
        ),
    )
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.get_json()["errors"]}
    assert {
        "strength_mg",
        "quantity",
        "overage_percent",
        "capsule_size",
        "api_lot.assay_percent",
        "api_lot.water_percent",
        "balance.mwq_mg",
    } <= fields


@pytest.mark.parametrize(
    "over, field",
    [
        ({"strength_mg": "6.5"}, "strength_mg"),
        ({"filler": {"name": "Calcium carbonate", "fill_mg_per_capsule": "200"}}, "filler.name"),
        (
            {
                "filler": {
                    "name": "MCC",
                    "fill_mg_per_capsule": "300",
                    "tapped_density_mg_per_ml": "400",
                }
            },
            "filler.fill_mg_per_capsule",
        ),
        (
            {"component_expiries": [{"name": "shells", "expires": "2026-10"}]},
            "component_expiries[0].expires",
        ),
        ({"bud_category": "other_nonaqueous", "bud_days": 365}, "bud_days"),
    ],
)
def test_rule_violations(api, over, field):
    resp = api("technician").post(CAPSULES, json=capsule_body(**over))
    assert resp.status_code == 422, resp.get_json()
    assert field in {e["field"] for e in resp.get_json()["errors"]}


def test_month_only_expiry_limits_the_bud(api):
    resp = api("technician").post(
        CAPSULES,
        json=capsule_body(
            component_expiries=[{"name": "Capsule shells lot C1", "expires": "2027-02"}]
        ),
    )
    out = resp.get_json()
    assert out["bud"] == "2027-02-28"
    assert "Capsule shells lot C1" in out["bud_limited_by"]


def test_shape_errors_malformed_json_and_unknown_fields(api):
    client = api("technician")
    resp = client.post(CAPSULES, data="{not json")
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "body"
    resp = client.post(CAPSULES, json=capsule_body(surprise=1))
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "surprise"
    resp = client.post(CAPSULES, json={"strength_mg": "4.5"})
    fields = {e["field"] for e in resp.get_json()["errors"]}
    assert {"quantity", "capsule_size", "filler", "api_lot", "compounded_on"} <= fields


def test_json_numbers_are_read_exactly(api):
    resp = api("technician").post(
        CAPSULES,
        json=None,
        data=(
            '{"strength_mg": 4.5, "quantity": 100, "capsule_size": "1", '
            '"filler": {"name": "MCC", "fill_mg_per_capsule": 200}, '
            '"api_lot": {"assay_percent": 100}, "compounded_on": "2026-11-26"}'
        ),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["api_mg"] == "450.00"


def test_liquid_from_api_powder_with_multiple(api):
    # 1 mg/mL x 30 mL = 30 mg < 120 -> m = ceil(120/30) = 4; weigh 120.00; q.s. 120 mL;
    # dispense 30 mL.
    resp = api("pharmacist").post(
        LIQUIDS,
        json={
            "concentration_mg_per_ml": "1",
            "volume_ml": "30",
            "bud_category": "preserved_aqueous",
            "api_lot": {"assay_percent": "100"},
            "balance": {"mwq_mg": "120"},
            "compounded_on": "2026-11-26",
            "component_expiries": [],
        },
    )
    out = resp.get_json()
    assert resp.status_code == 200, out
    assert out["multiple"] == 4
    assert out["api_mg"] == "120.00"
    assert out["prepare_volume_ml"].startswith("120")
    assert out["dispense_volume_ml"].startswith("30")
    assert out["bud"] == "2026-12-31"  # + 35 days


def test_liquid_from_tablets(api):
    # 1 mg/mL x 100 mL = 100 mg -> 2 tablets of 50 mg; q.s. to 100 mL; shake well.
    resp = api("technician").post(
        LIQUIDS,
        json={
            "concentration_mg_per_ml": "1",
            "volume_ml": "100",
            "bud_category": "preserved_aqueous",
            "tablets": {"strength_mg": "50"},
            "compounded_on": "2026-11-26",
        },
    )
    out = resp.get_json()
    assert resp.status_code == 200, out
    assert out["tablets"] == 2
    assert out["prepare_volume_ml"].startswith("100")
    assert any("Shake well" in n for n in out["auxiliary_notes"])


def test_liquid_zero_volume_refused(api):
    resp = api("technician").post(
        LIQUIDS,
        json={
            "concentration_mg_per_ml": "0",
            "volume_ml": "0",
            "bud_category": "preserved_aqueous",
            "api_lot": {"assay_percent": "100"},
            "compounded_on": "2026-11-26",
        },
    )
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.get_json()["errors"]}
    assert {"concentration_mg_per_ml", "volume_ml"} <= fields


def test_weight_check_every_capsule_must_pass(api):
    # target 200, +-10% -> [180, 220]; shell 60. Nets: 200, 219.99, 220, 180, 179.99 -> last fails
    resp = api("technician").post(
        WEIGHT,
        json={
            "fill_target_mg": "200",
            "tolerance_percent": "10",
            "shell_mg": "60",
            "gross_weights_mg": ["260", "279.99", "280", "240", "239.99"],
        },
    )
    out = resp.get_json()
    assert resp.status_code == 200, out
    assert out["passed"] is False
    assert [u["passed"] for u in out["units"]] == [True, True, True, True, False]
    assert out["units"][4]["net_mg"] == "179.99"


def test_api_needs_a_token_and_the_right_role(app, api, pharmacy):
    anon = app.test_client().post(CAPSULES, json=capsule_body())
    assert anon.status_code == 401
    assert "Bearer" in anon.get_json()["errors"][0]["message"]
    bad = app.test_client().post(
        CAPSULES, json=capsule_body(), headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401
    assert api("staff").post(CAPSULES, json=capsule_body()).status_code == 403
