"""R8 weight check: inclusive per-capsule net bounds; every capsule must pass."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pharmacy.domain.calc import WeightCheckRequest, check_weights
from pharmacy.domain.errors import ValidationFailed


def _check(gross, target="100", shell="48", tolerance="10"):
    return check_weights(
        WeightCheckRequest(Decimal(target), Decimal(shell), tuple(gross), Decimal(tolerance))
    )


def test_r8_bounds_are_inclusive():
    # F = 100, ±10% → net 90–110; shell 48 → gross 138 (net 90) and 158 (net 110) pass
    r = _check(["138", "158", "148"])
    assert r.passed
    assert [u.net_mg for u in r.units] == [Decimal("90"), Decimal("110"), Decimal("100")]
    assert [u.percent_of_target for u in r.units] == [
        Decimal("90.00"),
        Decimal("110.00"),
        Decimal("100.00"),
    ]
    # mean = (90 + 110 + 100) / 3 = 100.00
    assert r.mean_net_mg == Decimal("100.00")
    assert (r.fill_min_mg, r.fill_max_mg) == (Decimal("90"), Decimal("100") + 10)


@pytest.mark.parametrize("gross", ["137.99", "158.01"])
def test_r8_just_outside_fails(gross):
    # 137.99 − 48 = 89.99 < 90; 158.01 − 48 = 110.01 > 110
    r = _check(["148", gross])
    assert not r.passed
    assert [u.passed for u in r.units] == [True, False]


def test_r8_mean_alone_never_decides():
    # nets 85 and 115: mean 100.00 is perfect but both capsules fail
    r = _check(["133", "163"])
    assert r.mean_net_mg == Decimal("100.00")
    assert not r.passed
    assert r.steps[-1].value == "fail"


def test_r8_tolerance_is_configurable():
    # F = 200, ±5% → 190–210; net 211 fails, 190 passes
    r = _check(["238", "259"], target="200", tolerance="5")
    assert [u.passed for u in r.units] == [True, False]


def test_r8_percent_and_mean_are_rounded_for_display_only():
    # net 148.005 − 48 = 100.005; 100.005 / 300 × 100 = 33.335% → 33.34 (display only)
    r = _check(["148.005"], target="300", tolerance="70")
    assert r.units[0].percent_of_target == Decimal("33.34")
    assert r.units[0].net_mg == Decimal("100.005")


def test_r8_to_dict():
    d = _check(["138"]).to_dict()
    assert d["passed"] is True
    assert d["mean_net_mg"] == "90.00"
    assert d["units"][0] == {
        "number": 1,
        "gross_mg": "138",
        "net_mg": "90",
        "percent_of_target": "90.00",
        "passed": True,
    }


def test_r8_bad_inputs_name_every_field():
    with pytest.raises(ValidationFailed) as exc:
        check_weights(WeightCheckRequest(Decimal("0"), Decimal("-1"), ("150", "0"), Decimal("100")))
    assert [e.field for e in exc.value.errors] == [
        "fill_target_mg",
        "tolerance_percent",
        "shell_mg",
        "gross_weights_mg[1]",
    ]
    with pytest.raises(ValidationFailed) as exc:
        check_weights(WeightCheckRequest(Decimal("100"), Decimal("48"), ()))
    assert [e.field for e in exc.value.errors] == ["gross_weights_mg"]
