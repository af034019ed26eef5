"""R6 solid aliquot — both branches of the portion rule, hand-checked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pharmacy.domain.calc import (
    Aliquot,
    ApiLot,
    Balance,
    Filler,
    calculate_capsules,
    plan_aliquot,
)
from pharmacy.domain.errors import ValidationFailed


def test_r6_portion_is_mwq_when_the_diluent_is_large_enough():
    # A = 45 mg, MWQ 120: m = ceil(120/45) = ceil(2.67) = 3; stock API = 135.00 mg
    # Q = 120: diluent 3 × 120 − 135 = 225 ≥ 120 → keep Q = 120; stock total 360
    assert plan_aliquot(Decimal("45"), Decimal("120")) == Aliquot(
        multiple=3,
        stock_api_mg=Decimal("135.00"),
        diluent_mg=Decimal("225.00"),
        stock_total_mg=Decimal("360.00"),
        aliquot_mg=Decimal("120.00"),
    )


def test_r6_portion_grows_when_the_diluent_would_be_below_mwq():
    # A = 100 mg: m = ceil(1.2) = 2; stock API 200.00; at Q = 120 diluent 240 − 200 = 40 < 120
    # → Q = ceil(100 + 120/2) = 160; stock total 320; diluent 320 − 200 = 120
    assert plan_aliquot(Decimal("100"), Decimal("120")) == Aliquot(
        2, Decimal("200.00"), Decimal("120.00"), Decimal("320.00"), Decimal("160.00")
    )


def test_r6_portion_rounds_up_to_a_whole_mg():
    # A = 110 / 0.98 = 112.244897959... (rounded 112.24 < 120 → aliquot)
    # m = ceil(120 / 112.2449) = 2; stock API = round(224.4897959) = 224.49
    # Q = 120 → diluent 240 − 224.49 = 15.51 < 120 → Q = ceil(112.2449 + 60) = ceil(172.2449) = 173
    # stock total 2 × 173 = 346; diluent 346 − 224.49 = 121.51
    plan = plan_aliquot(Decimal("110") / Decimal("0.98"), Decimal("120"))
    assert plan == Aliquot(
        2, Decimal("224.49"), Decimal("121.51"), Decimal("346.00"), Decimal("173.00")
    )


def test_r6_uses_unrounded_api_for_the_multiple():
    # A = 39.996 mg: 120 / 39.996 = 3.0003 → m = 4 (the rounded 40.00 would give 3, and
    # 3 × 39.996 = 119.988 would then be below the MWQ)
    # A = 40.004 mg: 120 / 40.004 = 2.9997 → m = 3
    assert plan_aliquot(Decimal("39.996"), Decimal("120")).multiple == 4
    assert plan_aliquot(Decimal("40.004"), Decimal("120")).multiple == 3


def test_r6_capsule_batch_with_aliquot(capsule_request):
    # 1.5 mg × 30 = 45 mg, potency 1 → API 45.00 < 120 → aliquot (m 3, stock 135.00, Q 120)
    # total powder 100 × 30 = 3000.00; remaining filler 3000.00 − 120.00 = 2880.00
    r = calculate_capsules(
        capsule_request(
            strength_mg=Decimal("1.5"), quantity=30, filler=Filler("MCC", Decimal("100"))
        )
    )
    assert r.api_mg == Decimal("45.00")
    assert r.aliquot == Aliquot(
        3, Decimal("135.00"), Decimal("225.00"), Decimal("360.00"), Decimal("120.00")
    )
    assert r.total_powder_mg == Decimal("3000.00")
    assert r.filler_mg == Decimal("2880.00")
    keys = [s.key for s in r.steps]
    assert keys.index("aliquot_multiple") < keys.index("stock_api") < keys.index("filler_mg")
    d = r.to_dict()
    assert d["aliquot"] == {
        "multiple": 3,
        "stock_api_mg": "135.00",
        "diluent_mg": "225.00",
        "stock_total_mg": "360.00",
        "aliquot_mg": "120.00",
    }


def test_r6_aliquot_with_potency_and_a_smaller_balance_mwq(capsule_request):
    # 0.5 mg × 60 = 30 mg; assay 98% → A = 30 / 0.98 = 30.612244... → 30.61 < MWQ 50
    # m = ceil(50 / 30.6122) = ceil(1.633) = 2; stock API round(61.2244898) = 61.22
    # Q = 50: diluent 100 − 61.22 = 38.78 < 50 → Q = ceil(30.6122 + 25) = 56
    # stock total 112, diluent 112 − 61.22 = 50.78; filler 200 × 60 − 56 = 11944.00
    r = calculate_capsules(
        capsule_request(
            strength_mg=Decimal("0.5"),
            api_lot=ApiLot(Decimal("98")),
            balance=Balance(Decimal("50")),
        )
    )
    assert r.api_mg == Decimal("30.61")
    assert r.aliquot == Aliquot(
        2, Decimal("61.22"), Decimal("50.78"), Decimal("112.00"), Decimal("56.00")
    )
    assert r.filler_mg == Decimal("11944.00")


def test_r6_aliquot_that_exceeds_the_batch_is_refused(capsule_request):
    # 1 mg × 1 capsule: Q = 120 mg but total powder is 100 mg
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(
            capsule_request(strength_mg=Decimal("1"), quantity=1, filler=Filler("MCC", "100"))
        )
    assert exc.value.errors[0].field == "quantity"
