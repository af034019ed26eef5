"""R3 batch size, R4 fill, R5 rounding, R9 capacity, R12 fillers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pharmacy.domain.calc import (
    CAPSULE_VOLUMES_ML,
    ApiLot,
    CalcTables,
    Filler,
    batch_size,
    calculate_capsules,
)
from pharmacy.domain.errors import ValidationFailed


@pytest.mark.parametrize(
    ("quantity", "overage", "expected"),
    [
        (30, "0", 30),  # 30 + ceil(0) = 30
        (30, "10", 33),  # 30 + ceil(3) = 33
        (30, "2.5", 31),  # 30 + ceil(0.75) = 31
        (7, "10", 8),  # 7 + ceil(0.7) = 8
        (100, "5", 105),  # 100 + ceil(5) = 105
    ],
)
def test_r3_batch_size(quantity, overage, expected):
    assert batch_size(quantity, Decimal(overage)) == expected


def test_r4_fill_without_aliquot(capsule_request):
    # 4.5 mg × 60 capsules = 270 mg HCl, potency 1 → API 270.00 mg (≥ MWQ 120, no aliquot)
    # total powder = F × n = 200 × 60 = 12000.00 mg; filler = 12000.00 − 270.00 = 11730.00 mg
    # fill band ±10%: 180–220 mg
    r = calculate_capsules(capsule_request())
    assert r.capsules_to_make == 60
    assert r.api_mg == Decimal("270.00")
    assert r.aliquot is None
    assert r.total_powder_mg == Decimal("12000.00")
    assert r.filler_mg == Decimal("11730.00")
    assert (r.fill_target_mg, r.fill_min_mg, r.fill_max_mg) == (
        Decimal("200"),
        Decimal("180"),
        Decimal("220"),
    )


def test_r3_r4_overage_feeds_every_amount(capsule_request):
    # n = 60 + ceil(60 × 5 / 100) = 63; API 4.5 × 63 = 283.50 mg; powder 200 × 63 = 12600.00
    # filler = 12600.00 − 283.50 = 12316.50 mg
    r = calculate_capsules(capsule_request(overage_percent=Decimal("5")))
    assert r.capsules_to_make == 63
    assert r.api_mg == Decimal("283.50")
    assert r.total_powder_mg == Decimal("12600.00")
    assert r.filler_mg == Decimal("12316.50")


def test_r4_fill_tolerance_is_configurable(capsule_request):
    # F = 200, ±7.5% → 185.0–215.0 mg
    r = calculate_capsules(capsule_request(fill_tolerance_percent=Decimal("7.5")))
    assert (r.fill_min_mg, r.fill_max_mg) == (Decimal("185.0"), Decimal("215.0"))


def test_r5_rounds_half_up_and_filler_uses_the_rounded_api(capsule_request):
    # 0.5 mg × 250 = 125 mg; assay 99.6% → 125 / 0.996 = 125.5020080... → 125.50 mg
    # filler = 200 × 250 − 125.50 = 49874.50 mg (from the rounded weight, not 125.502...)
    r = calculate_capsules(
        capsule_request(strength_mg=Decimal("0.5"), quantity=250, api_lot=ApiLot(Decimal("99.6")))
    )
    assert r.api_mg == Decimal("125.50")
    assert r.filler_mg == Decimal("49874.50")


def test_r5_half_way_value_rounds_up(capsule_request):
    # 4.005 mg HCl × 37 capsules = 148.185 mg exactly → ROUND_HALF_UP 148.19
    # (banker's rounding would give 148.18)
    r = calculate_capsules(capsule_request(strength_mg=Decimal("4.005"), quantity=37))
    assert r.api_mg == Decimal("148.19")


def test_r9_filler_that_fits_is_accepted(capsule_request):
    # 90 mg ÷ 300 mg/mL = 0.30 mL, exactly the size 3 volume (not more) → accepted
    filler = Filler("MCC", Decimal("90"), Decimal("300"))
    r = calculate_capsules(capsule_request(filler=filler))
    step = next(s for s in r.steps if s.key == "capsule_capacity")
    assert step.formula == "90 mg ÷ 300 mg/mL = 0.3 mL ≤ 0.30 mL capsule volume"


def test_r9_filler_that_overfills_the_capsule_is_refused(capsule_request):
    # 100 mg ÷ 333.33 mg/mL = 0.300003 mL > 0.30 mL (size 3)
    filler = Filler("MCC", Decimal("100"), Decimal("333.33"))
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(filler=filler))
    assert [e.field for e in exc.value.errors] == ["filler.fill_mg_per_capsule"]
    assert "R9" in exc.value.errors[0].message
    # 100 ÷ 333.34 = 0.299994 mL fits
    calculate_capsules(capsule_request(filler=Filler("MCC", Decimal("100"), Decimal("333.34"))))


def test_r9_capsule_volumes_are_overridable_data(capsule_request):
    assert CAPSULE_VOLUMES_ML["4"] == Decimal("0.21")
    tables = CalcTables(capsule_volumes_ml={**CAPSULE_VOLUMES_ML, "3": Decimal("0.27")})
    filler = Filler("MCC", Decimal("90"), Decimal("300"))  # 0.30 mL > 0.27 mL
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(filler=filler), tables=tables)
    assert exc.value.errors[0].field == "filler.fill_mg_per_capsule"


def test_r9_capsule_size_may_be_written_with_a_hash(capsule_request):
    calculate_capsules(capsule_request(capsule_size="#0"))


@pytest.mark.parametrize(
    "name",
    [
        "Calcium carbonate",
        "CALCIUM CARBONATE USP",
        "Hypromellose 2910",
        "HPMC K4M",
        "Hydroxypropyl-methylcellulose",
        "Methylcellulose",
        "Methocel E4M",
        "ethyl cellulose",
    ],
)
def test_r12_forbidden_fillers_are_refused(capsule_request, name):
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(filler=Filler(name, Decimal("200"))))
    assert [e.field for e in exc.value.errors] == ["filler.name"]
    assert "R12" in exc.value.errors[0].message


@pytest.mark.parametrize("name", ["Avicel PH-102", "Lactose monohydrate", "Sucrose"])
def test_r12_ordinary_fillers_are_accepted(capsule_request, name):
    calculate_capsules(capsule_request(filler=Filler(name, Decimal("200"))))


def test_capsule_too_small_for_the_api_is_refused(capsule_request):
    # API 270.00 mg but total powder only 4 × 60 = 240 mg
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(filler=Filler("MCC", Decimal("4"))))
    assert exc.value.errors[0].field == "filler.fill_mg_per_capsule"


def test_small_filler_weighing_is_flagged(capsule_request):
    # 6 mg × 25 = 150 mg API; powder 10 × 25 = 250 mg; filler 100 mg < MWQ 120 → warning
    r = calculate_capsules(
        capsule_request(strength_mg=Decimal("6"), quantity=25, filler=Filler("MCC", Decimal("10")))
    )
    assert r.filler_mg == Decimal("100.00")
    assert r.warnings and "below the balance minimum" in r.warnings[0]


def test_steps_are_in_worksheet_order_and_carry_numbers(capsule_request):
    r = calculate_capsules(capsule_request(strength_basis="base", overage_percent=Decimal("10")))
    keys = [s.key for s in r.steps]
    assert keys[:7] == [
        "strength_salt",
        "potency",
        "capsules_to_make",
        "api_required",
        "api_mg",
        "total_powder",
        "filler_mg",
    ]
    assert keys[-1] == "bud"
    by_key = {s.key: s for s in r.steps}
    assert by_key["capsules_to_make"].formula == "60 + ceil(60 × 10% ÷ 100) = 60 + 6 = 66"
    assert "× 377.86 ÷ 341.40" in by_key["strength_salt"].formula
    assert by_key["api_mg"].value == r.api_mg
    assert f"rounded to {r.api_mg} mg" in by_key["api_mg"].formula


def test_to_dict_keeps_decimals_exact_as_strings(capsule_request):
    d = calculate_capsules(capsule_request()).to_dict()
    assert d["api_mg"] == "270.00"
    assert d["filler_mg"] == "11730.00"
    assert d["aliquot"] is None
    assert d["bud"] == "2026-07-09"
    assert d["capsules_to_make"] == 60
    assert d["steps"][0] == {
        "key": "strength_salt",
        "label": "Strength as naltrexone hydrochloride",
        "formula": "4.5 mg prescribed as naltrexone hydrochloride",
        "value": "4.5",
        "unit": "mg",
    }
