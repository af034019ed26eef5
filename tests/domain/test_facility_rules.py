"""Storage temperature ranges (USP <659>) and the balance daily check."""

from decimal import Decimal as D

import pytest

from pharmacy.domain.facility import check_weight_passes, classify


@pytest.mark.parametrize(
    "kind, celsius, status",
    [
        ("refrigerator", "2", "in_range"),
        ("refrigerator", "8", "in_range"),
        ("refrigerator", "8.1", "excursion"),
        ("refrigerator", "1.9", "excursion"),
        ("room", "20", "in_range"),
        ("room", "25", "in_range"),
        ("room", "27", "allowed_excursion"),
        ("room", "15", "allowed_excursion"),
        ("room", "30.1", "excursion"),
        ("room", "14.9", "excursion"),
    ],
)
def test_classify(kind, celsius, status):
    assert classify(kind, D(celsius)) == status


def test_check_weight_within_tolerance():
    assert check_weight_passes(D("100"), D("100.1"), D("0.1"))
    assert check_weight_passes(D("100"), D("99.9"), D("0.1"))
    assert not check_weight_passes(D("100"), D("100.11"), D("0.1"))
