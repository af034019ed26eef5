"""The JSON API at the bench: a container scan with the weights (the wrong lot refused by its
field), and each line's weight source and scan shown."""

import pytest

from tests.batch_helpers import seed

GTIN = "00300123456785"


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def test_the_api_takes_the_container_scan_and_refuses_the_wrong_one(app, api, ids):
    tech = api("technician")
    resp = tech.post(
        "/api/v1/batches",
        json={
            "formula_id": ids["cap"],
            "balance_id": ids["balance"],
            "strength_mg": "4.5",
            "strength_basis": "hcl",
            "quantity": 100,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    batch = resp.get_json()
    lines = batch["lot_usages"]
    weights = [
        {
            "usage_id": u["id"],
            "actual": u["planned_quantity"],
            "balance_id": ids["balance"] if u["unit"] in ("mg", "g") else None,
        }
        for u in lines
    ]
    api_at = [u["role"] for u in lines].index("active")
    weights[api_at]["scan"] = f"(01){GTIN}(10)NOT-THIS-LOT"
    url = f"/api/v1/batches/{batch['id']}/weights"
    resp = tech.post(url, json={"weights": weights})
    assert resp.status_code == 422
    error = resp.get_json()["errors"][0]
    assert error["field"] == f"weights[{api_at}].scan"
    assert error["message"].startswith("wrong lot: the container is lot NOT-THIS-LOT")
    weights[api_at]["scan"] = f"(01){GTIN}(10){lines[api_at]['lot_number']}"
    assert tech.post(url, json={"weights": weights}).status_code == 200
    shown = tech.get(f"/api/v1/batches/{batch['id']}").get_json()["lot_usages"][api_at]
    assert shown["container_scan"] == weights[api_at]["scan"]
    assert shown["weight_source"] == "typed"
