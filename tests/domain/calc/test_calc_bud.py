"""R10 beyond-use dates and R11 expired components."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.calc import (
    BUD_CATEGORIES,
    ComponentExpiry,
    beyond_use_date,
    calculate_capsules,
    parse_component_expiries,
    parse_expiry,
)
from pharmacy.domain.errors import ValidationFailed

DAY0 = date(2026, 1, 10)


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        # Jan 10 + 21 → Jan 31; +28 → Feb 28 (49); +31 → Mar 31 (80); +30 → Apr 30 (110);
        # +31 → May 31 (141); +30 → Jun 30 (171); +9 → Jul 9 (180)
        ("other_nonaqueous", date(2026, 7, 9)),
        # Jan 31 (21), Feb 28 (49), Mar 31 (80), Apr 10 (90)
        ("nonaqueous_oral_liquid", date(2026, 4, 10)),
        # Jan 31 (21), Feb 14 (35)
        ("preserved_aqueous", date(2026, 2, 14)),
        # Jan 10 + 14 = Jan 24
        ("non_preserved_aqueous", date(2026, 1, 24)),
    ],
)
def test_r10_table_bud_counts_the_compounding_day_as_day_0(category, expected):
    r = beyond_use_date(DAY0, category)
    assert r.bud == expected
    assert r.limited_by == (
        f"USP <795> category {BUD_CATEGORIES[category].label} ({BUD_CATEGORIES[category].days} days)"
    )


def test_r10_storage_text():
    assert "refrigerator (2–8 °C)" in beyond_use_date(DAY0, "non_preserved_aqueous").storage
    assert "room temperature" in beyond_use_date(DAY0, "other_nonaqueous").storage


def test_r10_earliest_component_expiry_limits_and_is_named():
    comps = (
        ComponentExpiry("Naltrexone HCl lot A1", date(2026, 6, 30)),
        ComponentExpiry("Size 3 shells lot S2", date(2026, 5, 15)),
        ComponentExpiry("MCC lot M7", date(2027, 1, 1)),
    )
    r = beyond_use_date(DAY0, "other_nonaqueous", comps)
    assert r.bud == date(2026, 5, 15)
    assert r.limited_by == "Size 3 shells lot S2"


def test_r10_month_only_expiry_means_the_last_day_of_the_month():
    r = beyond_use_date(DAY0, "other_nonaqueous", (ComponentExpiry.parse("API", "2026-02"),))
    assert r.bud == date(2026, 2, 28)
    leap = ComponentExpiry.parse("API", "2028-02")
    assert leap.effective_date == date(2028, 2, 29)
    assert leap.month_only


def test_r10_component_expiring_after_the_table_bud_does_not_limit():
    r = beyond_use_date(DAY0, "other_nonaqueous", (ComponentExpiry("API", date(2026, 7, 9)),))
    assert r.bud == date(2026, 7, 9)
    assert r.limited_by.startswith("USP <795> category")


def test_r10_shorter_formula_bud_needs_no_reference():
    # 60 days: Jan 31 (21), Feb 28 (49), Mar 11 (60)
    r = beyond_use_date(DAY0, "other_nonaqueous", bud_days=60)
    assert r.bud == date(2026, 3, 11)
    assert r.limited_by == "formula BUD (60 days)"


def test_r10_longer_formula_bud_needs_a_stability_reference():
    with pytest.raises(ValidationFailed) as exc:
        beyond_use_date(DAY0, "other_nonaqueous", bud_days=360)
    assert [e.field for e in exc.value.errors] == ["bud_days"]
    # 2026-01-10 + 360 days = 2027-01-05
    ref = "Cote et al., IJPC 2018;22(3):252-6"
    r = beyond_use_date(DAY0, "other_nonaqueous", bud_days=360, stability_reference=ref)
    assert r.bud == date(2027, 1, 5)
    assert ref in r.limited_by


def test_r10_capsule_result_carries_bud(capsule_request):
    r = calculate_capsules(
        capsule_request(component_expiries=(ComponentExpiry.parse("Shells", "2026-03"),))
    )
    assert r.bud == date(2026, 3, 31)
    assert r.bud_limited_by == "Shells"
    assert r.to_dict()["bud"] == "2026-03-31"


def test_r11_component_expired_before_compounding_is_refused():
    comps = (
        ComponentExpiry("API", date(2027, 1, 1)),
        ComponentExpiry("Shells", date(2026, 1, 9)),
        ComponentExpiry("MCC", date(2025, 12, 31)),
    )
    with pytest.raises(ValidationFailed) as exc:
        beyond_use_date(DAY0, "other_nonaqueous", comps)
    assert [e.field for e in exc.value.errors] == [
        "component_expiries[1].expires",
        "component_expiries[2].expires",
    ]
    assert all("R11" in e.message for e in exc.value.errors)


def test_r11_component_expiring_on_the_compounding_day_is_usable():
    r = beyond_use_date(DAY0, "other_nonaqueous", (ComponentExpiry("Shells", DAY0),))
    assert r.bud == DAY0


def test_r11_month_only_expiry_in_the_compounding_month_is_usable():
    r = beyond_use_date(DAY0, "other_nonaqueous", (ComponentExpiry.parse("MCC", "2026-01"),))
    assert r.bud == date(2026, 1, 31)


def test_r11_in_a_capsule_calculation_names_the_field(capsule_request):
    comps = (ComponentExpiry("API", date(2027, 1, 1)), ComponentExpiry("MCC", date(2025, 1, 1)))
    with pytest.raises(ValidationFailed) as exc:
        calculate_capsules(capsule_request(component_expiries=comps, strength_mg=Decimal("7")))
    assert [e.field for e in exc.value.errors] == ["strength_mg", "component_expiries[1].expires"]


def test_parse_expiry_formats():
    assert parse_expiry("2026-05") == (date(2026, 5, 1), True)
    assert parse_expiry("2026-05-17") == (date(2026, 5, 17), False)
    for bad in ("2026-13", "05/2026", "2026-02-30", "", "2026-5"):
        with pytest.raises(ValueError):
            parse_expiry(bad)


def test_parse_component_expiries_reports_every_bad_item():
    ok = parse_component_expiries([{"name": "API", "expires": "2026-05"}])
    assert ok == (ComponentExpiry("API", date(2026, 5, 1), True),)
    with pytest.raises(ValidationFailed) as exc:
        parse_component_expiries(
            [
                {"name": "API", "expires": "2026-05"},
                {"name": "", "expires": "2026-05-01"},
                {"name": "MCC", "expires": "May 2026"},
            ]
        )
    assert [e.field for e in exc.value.errors] == [
        "component_expiries[1].name",
        "component_expiries[2].expires",
    ]
