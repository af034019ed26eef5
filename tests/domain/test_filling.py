"""Filling rules: days' supply against the BUD, the moves to ready, and what a titration
order needs per strength."""

from datetime import date
from decimal import Decimal as D

import pytest

from pharmacy.domain import filling


def test_days_supply_counts_the_last_part_day():
    assert filling.days_supply(D("100"), 1, D("1")) == 100
    assert filling.days_supply(D("100"), 3, D("1")) == 34
    assert filling.days_supply(D("30"), 1, D("4.5")) == 7  # 4.5 mL doses of a liquid


def test_the_bud_must_last_to_the_last_dose():
    today = date(2030, 1, 1)
    assert filling.last_dose_day(today, 30) == date(2030, 1, 30)
    assert filling.bud_covers(date(2030, 1, 30), today, 30) is True
    assert filling.bud_covers(date(2030, 1, 29), today, 30) is False


def test_path_to_ready_and_out_of_a_hold():
    assert filling.path_to_ready("in_compounding") == ["quality_check", "ready"]
    assert filling.path_to_ready("on_hold", "ready") == ["ready"]
    assert filling.path_to_ready("on_hold", "in_compounding") == [
        "in_compounding",
        "quality_check",
        "ready",
    ]
    with pytest.raises(ValueError):
        filling.path_to_ready("on_hold", None)


def test_a_titration_needs_its_own_strength_only_for_steps_not_in_whole_capsules():
    steps = [(D("1.5"), 7, None), (D("3"), 7, None), (D("6"), 7, None), (D("4.5"), None, None)]
    # 3 mg capsules: 1.5 mg is half a capsule (own strength, 7 capsules); 6 mg is 2 capsules.
    # The quantity is the whole supply: the 7 step capsules come out of the 60, not on top.
    assert filling.requirements(D("3"), D("60"), "capsule", 1, steps) == {
        D("3"): D("53"),
        D("1.5"): D("7"),
    }
    # Steps given in capsules, and every step of a liquid, come from the one product.
    assert filling.requirements(D("3"), D("60"), "capsule", 2, [(D("1.5"), 7, 1)]) == {
        D("3"): D("60")
    }
    assert filling.requirements(D("1"), D("100"), "mL", 1, steps) == {D("1"): D("100")}
