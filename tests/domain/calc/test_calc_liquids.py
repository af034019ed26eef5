"""R7 oral liquids: bulk API with and without the liquid aliquot, and the 50 mg tablet path."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.calc import (
    SHAKE_WELL,
    ApiLot,
    ComponentExpiry,
    TabletSource,
    calculate_liquid,
)
from pharmacy.domain.errors import ValidationFailed


def test_r7_api_at_or_above_mwq_is_weighed_directly(liquid_request):
    # 1 mg/mL × 150 mL = 150 mg, potency 1 → 150.00 mg ≥ 120; q.s. 150 mL, dispense 150 mL
    r = calculate_liquid(liquid_request())
    assert r.api_mg == Decimal("150.00")
    assert r.multiple == 1
    assert r.prepare_volume_ml == Decimal("150")
    assert r.dispense_volume_ml == Decimal("150")
    assert r.undispensed_volume_ml == 0
    assert r.tablets is None
    assert r.auxiliary_notes == ()


def test_r7_liquid_aliquot_when_api_is_below_mwq(liquid_request):
    # 1 mg/mL × 100 mL = 100 mg; assay 99% → A = 101.0101... → 101.01 < 120
    # m = ceil(120 / 101.0101) = ceil(1.188) = 2; weigh round(202.0202...) = 202.02 mg
    # q.s. to 2 × 100 = 200 mL; dispense 100 mL; 100 mL not dispensed
    r = calculate_liquid(liquid_request(volume_ml=Decimal("100"), api_lot=ApiLot(Decimal("99"))))
    assert r.multiple == 2
    assert r.api_mg == Decimal("202.02")
    assert r.prepare_volume_ml == Decimal("200")
    assert r.dispense_volume_ml == Decimal("100")
    assert r.undispensed_volume_ml == Decimal("100")


def test_r7_base_concentration_is_converted(liquid_request):
    # 1 mg/mL base × 377.86/341.40 = 1.106795... mg/mL HCl × 150 mL = 166.0193... → 166.02 mg
    r = calculate_liquid(liquid_request(concentration_basis="base"))
    assert r.api_mg == Decimal("166.02")


def test_r7_tablet_path(liquid_request):
    # 1 mg/mL × 60 mL = 60 mg; tablets = ceil(60 / 50) = 2; q.s. to 2 × 50 / 1 = 100 mL
    # dispense 60 mL, 40 mL not dispensed; label "Shake well"
    r = calculate_liquid(
        liquid_request(volume_ml=Decimal("60"), api_lot=None, tablets=TabletSource())
    )
    assert r.tablets == 2
    assert r.api_mg is None
    assert r.multiple is None
    assert r.prepare_volume_ml == Decimal("100.00")
    assert r.dispense_volume_ml == Decimal("60")
    assert r.undispensed_volume_ml == Decimal("40.00")
    assert r.auxiliary_notes == (SHAKE_WELL,)
    assert r.to_dict()["tablets"] == 2


def test_r7_tablet_path_volume_is_measured_to_a_hundredth_ml(liquid_request):
    # 3 mg/mL × 30 mL = 90 mg → 2 tablets → 100 / 3 = 33.333... → q.s. to 33.33 mL
    r = calculate_liquid(
        liquid_request(
            concentration_mg_per_ml=Decimal("3"),
            volume_ml=Decimal("30"),
            api_lot=None,
            tablets=TabletSource(Decimal("50")),
        )
    )
    assert r.tablets == 2
    assert r.prepare_volume_ml == Decimal("33.33")
    assert r.undispensed_volume_ml == Decimal("3.33")


def test_r7_liquid_bud_and_storage(liquid_request):
    # non-preserved aqueous: 2026-01-10 + 14 days = 2026-01-24, refrigerate
    r = calculate_liquid(liquid_request())
    assert r.bud == date(2026, 1, 24)
    assert "refrigerator" in r.storage
    # preserved aqueous 35 days → 2026-02-14, limited by a component expiring 2026-02-01
    r = calculate_liquid(
        liquid_request(
            bud_category="preserved_aqueous",
            component_expiries=(ComponentExpiry("Syrup vehicle lot V1", date(2026, 2, 1)),),
        )
    )
    assert r.bud == date(2026, 2, 1)
    assert r.bud_limited_by == "Syrup vehicle lot V1"


def test_r7_capsule_category_is_refused_for_a_liquid(liquid_request):
    with pytest.raises(ValidationFailed) as exc:
        calculate_liquid(liquid_request(bud_category="other_nonaqueous"))
    assert [e.field for e in exc.value.errors] == ["bud_category"]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"volume_ml": Decimal("0")}, ["volume_ml"]),
        ({"concentration_mg_per_ml": Decimal("0")}, ["concentration_mg_per_ml"]),
        (
            {"volume_ml": Decimal("0"), "concentration_mg_per_ml": Decimal("-1")},
            ["concentration_mg_per_ml", "volume_ml"],
        ),
        ({"tablets": TabletSource()}, ["tablets"]),
        ({"api_lot": None}, ["api_lot"]),
        ({"api_lot": None, "tablets": TabletSource(Decimal("0"))}, ["tablets.strength_mg"]),
        ({"bud_category": "nope"}, ["bud_category"]),
    ],
)
def test_r7_bad_liquid_inputs(liquid_request, overrides, fields):
    with pytest.raises(ValidationFailed) as exc:
        calculate_liquid(liquid_request(**overrides))
    assert [e.field for e in exc.value.errors] == fields
