"""Factories for calculation requests: a valid baseline that each test overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.calc import (
    ApiLot,
    Balance,
    CapsuleRequest,
    ComponentExpiry,
    Filler,
    LiquidRequest,
)

COMPOUNDED_ON = date(2026, 1, 10)


def _capsule_request(**overrides) -> CapsuleRequest:
    base = CapsuleRequest(
        strength_mg=Decimal("4.5"),
        quantity=60,
        capsule_size="3",
        filler=Filler("Microcrystalline cellulose (Avicel PH-105)", Decimal("200")),
        api_lot=ApiLot(Decimal("100")),
        compounded_on=COMPOUNDED_ON,
        balance=Balance(Decimal("120")),
        component_expiries=(
            ComponentExpiry("Naltrexone HCl lot A1", date(2028, 1, 1)),
            ComponentExpiry("MCC lot M7", date(2028, 1, 1)),
            ComponentExpiry("Size 3 shells lot S2", date(2028, 1, 1)),
        ),
    )
    return replace(base, **overrides)


def _liquid_request(**overrides) -> LiquidRequest:
    base = LiquidRequest(
        concentration_mg_per_ml=Decimal("1"),
        volume_ml=Decimal("150"),
        bud_category="non_preserved_aqueous",
        compounded_on=COMPOUNDED_ON,
        api_lot=ApiLot(Decimal("100")),
        balance=Balance(Decimal("120")),
    )
    return replace(base, **overrides)


@pytest.fixture
def capsule_request():
    return _capsule_request


@pytest.fixture
def liquid_request():
    return _liquid_request
