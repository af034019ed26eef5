"""R1 strength basis, R2 lot potency, R12 strength bound — hand-checked values."""

from __future__ import annotations

from decimal import Decimal, getcontext, localcontext

import pytest

from pharmacy.domain.calc import (
    NALTREXONE,
    ApiLot,
    ApiSubstance,
    CalcTables,
    calculate_capsules,
    lot_potency,
    strength_in_salt,
)
from pharmacy.domain.errors import ValidationFailed


def test_r1_hcl_strength_is_taken_as_written():
    assert strength_in_salt(Decimal("4.5"), "hcl", NALTREXONE) == Decimal("4.5")


def test_r1_base_strength_converts_with_molecular_weights(capsule_request):
    # 4.5 mg base × 377.86 / 341.40 = 1700.37 / 341.40 = 4.98058...mg HCl per capsule
    # × 30 capsules = 149.41739894... mg; potency 1 → weigh 149.42 mg (R5)
    result = calculate_capsules(capsule_request(strength_basis="base", quantity=30))
    assert result.api_mg == Decimal("149.42")
    with localcontext() as ctx:
        ctx.prec = 50
        assert result.strength_salt_mg == Decimal("1700.37") / Decimal("341.40")


def test_r1_molecular_weights_are_data_not_literals():
    # A made-up salt with MW ratio 2 proves the arithmetic reads the substance record.
    fake = ApiSubstance("x", "x salt", Decimal("200"), "x base", Decimal("100"))
    assert strength_in_salt(Decimal("1.5"), "base", fake) == Decimal("3.0")


def test_r2_as_is_potency():
    # 98.5 / 100 = 0.985
    assert lot_potency(ApiLot(Decimal("98.5"), "as_is")) == Decimal("0.985")


def test_r2_anhydrous_potency_corrects_for_water():
    # 99.0/100 × (1 − 1.0/100) = 0.99 × 0.99 = 0.9801
    assert lot_potency(ApiLot(Decimal("99.0"), "anhydrous", Decimal("1.0"))) == Decimal("0.9801")


def test_r2_as_is_ignores_water():
    assert lot_potency(ApiLot(Decimal("99"), "as_is", Decimal("5"))) == Decimal("0.99")


def test_r2_api_to_weigh_is_divided_by_potency(capsule_request):
    # 3 mg × 50 capsules = 150 mg HCl; potency 0.9801 → 150 / 0.9801 = 153.0456... → 153.05 mg
    lot = ApiLot(Decimal("99.0"), "anhydrous", Decimal("1.0"))
    result = calculate_capsules(capsule_request(strength_mg=Decimal("3"), quantity=50, api_lot=lot))
    assert result.potency == Decimal("0.9801")
    assert result.api_mg == Decimal("153.05")
    # As-is 98.5%: 150 / 0.985 = 152.2842... → 152.28 mg
    result = calculate_capsules(
        capsule_request(strength_mg=Decimal("3"), quantity=50, api_lot=ApiLot(Decimal("98.5")))
    )
    assert result.api_mg == Decimal("152.28")


def test_r2_assay_up_to_110_is_accepted(capsule_request):
    # 4.5 × 60 = 270 mg; ÷ 1.10 = 245.4545... → 245.45 mg
    result = calculate_capsules(capsule_request(api_lot=ApiLot(Decimal("110"))))
    assert result.api_mg == Decimal("245.45")


@pytest.mark.parametrize("strength", ["6.0", "0.01", "4.5"])
def test_r12_strength_within_bound_is_accepted(capsule_request, strength):
    calculate_capsules(capsule_request(strength_mg=Decimal(strength)))


@pytest.mark.parametrize("strength", ["0", "-1", "6.01", "50"])
def test_r12_strength_out_of_bound_is_refused(capsule_request, strength):
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(strength_mg=Decimal(strength)))
    assert [e.field for e in exc.value.errors] == ["strength_mg"]
    assert "R12" in exc.value.errors[0].message


def test_r12_bound_is_configurable(capsule_request):
    tables = CalcTables(max_strength_mg=Decimal("10"))
    result = calculate_capsules(capsule_request(strength_mg=Decimal("8")), tables=tables)
    # 8 × 60 = 480.00 mg
    assert result.api_mg == Decimal("480.00")


def test_calculation_does_not_depend_on_or_change_the_callers_context(capsule_request):
    request = capsule_request(strength_basis="base", quantity=30)
    expected = calculate_capsules(request)
    before = getcontext().prec
    with localcontext() as ctx:
        ctx.prec = 4
        assert calculate_capsules(request) == expected
    assert getcontext().prec == before
