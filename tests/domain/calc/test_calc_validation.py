"""Bad input: each refused with the JSON field path and the rule named, all at once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.calc import ApiLot, Balance, ComponentExpiry, Filler, calculate_capsules
from pharmacy.domain.errors import ValidationFailed


def _fields(capsule_request, **overrides) -> list[str]:
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(**overrides))
    return [e.field for e in exc.value.errors]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"strength_mg": Decimal("0")}, "strength_mg", "R12"),
        ({"strength_mg": Decimal("6.5")}, "strength_mg", "R12"),
        ({"strength_basis": "salt"}, "strength_basis", "R1"),
        ({"quantity": Decimal("2.5")}, "quantity", "R3"),
        ({"quantity": -3}, "quantity", "R3"),
        ({"quantity": 0}, "quantity", "R3"),
        ({"overage_percent": Decimal("-1")}, "overage_percent", "R3"),
        ({"api_lot": ApiLot(Decimal("0"))}, "api_lot.assay_percent", "R2"),
        ({"api_lot": ApiLot(Decimal("110.01"))}, "api_lot.assay_percent", "R2"),
        ({"api_lot": ApiLot(Decimal("99"), "dried")}, "api_lot.assay_basis", "R2"),
        ({"api_lot": ApiLot(Decimal("99"), "anhydrous")}, "api_lot.water_percent", "R2"),
        (
            {"api_lot": ApiLot(Decimal("99"), "anhydrous", Decimal("100"))},
            "api_lot.water_percent",
            "R2",
        ),
        (
            {"api_lot": ApiLot(Decimal("99"), "anhydrous", Decimal("-0.1"))},
            "api_lot.water_percent",
            "R2",
        ),
        ({"balance": Balance(Decimal("0"))}, "balance.mwq_mg", "R6"),
        ({"balance": Balance(Decimal("-5"))}, "balance.mwq_mg", "R6"),
        ({"balance": Balance(Decimal("120.001"))}, "balance.mwq_mg", "R6"),
        ({"capsule_size": "6"}, "capsule_size", "R9"),
        ({"filler": Filler("MCC", Decimal("0"))}, "filler.fill_mg_per_capsule", "R4"),
        (
            {"filler": Filler("MCC", Decimal("200"), Decimal("300"))},
            "filler.fill_mg_per_capsule",
            "R9",
        ),
        (
            {"filler": Filler("MCC", Decimal("200"), Decimal("0"))},
            "filler.tapped_density_mg_per_ml",
            "R9",
        ),
        ({"filler": Filler("Calcium carbonate", Decimal("200"))}, "filler.name", "R12"),
        ({"filler": Filler(" ", Decimal("200"))}, "filler.name", "R12"),
        ({"fill_tolerance_percent": Decimal("-1")}, "fill_tolerance_percent", "R8"),
        ({"bud_category": "frozen"}, "bud_category", "R10"),
        ({"bud_category": "preserved_aqueous"}, "bud_category", "R10"),
        ({"bud_days": 181}, "bud_days", "R10"),
        ({"bud_days": 0}, "bud_days", "R10"),
        (
            {"component_expiries": (ComponentExpiry("API", date(2026, 1, 9)),)},
            "component_expiries[0].expires",
            "R11",
        ),
        (
            {"component_expiries": (ComponentExpiry("", date(2027, 1, 9)),)},
            "component_expiries[0].name",
            "R10",
        ),
        ({"strength_mg": Decimal("NaN")}, "strength_mg", "R12"),
    ],
)
def test_each_bad_input_names_its_field_and_rule(capsule_request, overrides, field, rule):
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(**overrides))
    assert [e.field for e in exc.value.errors] == [field]
    assert exc.value.errors[0].message.startswith(f"{rule}:")


def test_every_bad_field_is_reported_at_once(capsule_request):
    fields = _fields(
        capsule_request,
        strength_mg=Decimal("0"),
        quantity=Decimal("10.5"),
        overage_percent=Decimal("-2"),
        capsule_size="7",
        filler=Filler("HPMC", Decimal("0")),
        api_lot=ApiLot(Decimal("120"), "anhydrous"),
        balance=Balance(Decimal("0")),
        component_expiries=(
            ComponentExpiry("API", date(2027, 1, 1)),
            ComponentExpiry("Shells", date(2026, 1, 1)),
        ),
    )
    assert fields == [
        "strength_mg",
        "quantity",
        "overage_percent",
        "capsule_size",
        "filler.name",
        "filler.fill_mg_per_capsule",
        "api_lot.assay_percent",
        "api_lot.water_percent",
        "balance.mwq_mg",
        "component_expiries[1].expires",
    ]


def test_floats_are_refused_at_construction():
    with pytest.raises(TypeError):
        ApiLot(99.5)  # type: ignore[arg-type]


def test_strings_and_ints_are_converted_exactly():
    lot = ApiLot("99.50", "anhydrous", 1)
    assert lot.assay_percent == Decimal("99.50")
    assert lot.water_percent == Decimal(1)
