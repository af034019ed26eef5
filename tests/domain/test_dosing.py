"""The dose model: product strength text, volumes an oral syringe measures, directions,
and titration plans that can be made."""

from decimal import Decimal as D

import pytest

from pharmacy.domain.dosing import (
    amount_per_dose,
    directions,
    plan_titration,
    strength_text,
    strengths_needed,
    titration_directions,
)
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.titration import TitrationStep


def test_strength_text_is_per_capsule_or_per_ml():
    assert strength_text(D("1.5000"), "capsule") == "1.5 mg"
    assert strength_text(D("1.0000"), "mL") == "1 mg/mL"
    assert strength_text(D("4.5"), "mL") == "4.5 mg/mL"


def test_liquid_volume_is_dose_over_concentration_to_a_tenth_of_a_ml():
    a = amount_per_dose(D("4.5"), D("1"), "mL")
    assert a.units == D("4.5") and a.delivered_mg == D("4.5")
    assert directions(a, 1, "at bedtime") == "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime"
    half = amount_per_dose(D("0.5"), D("1"), "mL")
    assert half.text() == "0.5 mL (0.5 mg)"


def test_small_rounding_prints_the_mg_actually_measured():
    # 4.5 mg of 4 mg/mL is 1.125 mL; 1.1 mL holds 4.4 mg (2.2 % less): accepted, and said.
    a = amount_per_dose(D("4.5"), D("4"), "mL")
    assert a.units == D("1.1") and a.text() == "1.1 mL (4.4 mg)"


def test_dose_under_a_tenth_of_a_ml_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        amount_per_dose(D("0.25"), D("4.5"), "mL")
    assert exc.value.errors[0].field == "dose_mg"
    assert "0.056 mL, less than an oral syringe measures (0.1 mL)" in exc.value.errors[0].message


def test_rounding_more_than_five_percent_is_refused():
    # 0.33 mg of 1 mg/mL: 0.3 mL holds 0.3 mg, 9.1 % less than prescribed.
    with pytest.raises(ValidationFailed) as exc:
        amount_per_dose(D("0.33"), D("1"), "mL")
    assert "9.1 % off" in exc.value.errors[0].message


def test_capsules_are_whole():
    a = amount_per_dose(D("4.5"), D("1.5"), "capsule")
    assert a.units == 3
    assert directions(a, 2) == "Take 3 capsules (4.5 mg) by mouth twice daily"
    assert amount_per_dose(D("4.5"), D("4.5"), "capsule").text() == "1 capsule (4.5 mg)"
    with pytest.raises(ValidationFailed) as exc:
        amount_per_dose(D("4.5"), D("2"), "capsule")
    assert exc.value.errors[0].message.startswith("4.5 mg is not a whole number of 2 mg capsules")


def test_liquid_titration_volumes_use_the_concentration():
    plan = plan_titration(
        [TitrationStep(D("0.5"), 7), TitrationStep(D("1.5"), 7)], strength_mg=D("1"), unit="mL"
    )
    assert [p.amount.text() for p in plan] == ["0.5 mL (0.5 mg)", "1.5 mL (1.5 mg)"]
    maintenance = amount_per_dose(D("4.5"), D("1"), "mL")
    assert titration_directions(plan, maintenance, 1, "at bedtime") == (
        "Follow the titration schedule, by mouth once daily at bedtime: days 1-7 take "
        "0.5 mL (0.5 mg); days 8-14 take 1.5 mL (1.5 mg); from day 15 take 4.5 mL (4.5 mg)"
    )


def test_unmeasurable_liquid_step_is_refused_by_its_field():
    with pytest.raises(ValidationFailed) as exc:
        plan_titration([TitrationStep(D("0.2"), 7)], strength_mg=D("4.5"), unit="mL")
    assert exc.value.errors[0].field == "titration[0].strength_mg"
    assert exc.value.errors[0].message.startswith("step 1: 0.2 mg of 4.5 mg/mL")


def test_capsule_titration_whole_units_or_one_batch_per_step_strength():
    plan = plan_titration(
        [TitrationStep(D("1.5"), 14), TitrationStep(D("3"), 14)],
        strength_mg=D("1.5"),
        unit="capsule",
    )
    assert [(p.amount.units, p.amount.strength_mg, p.own_batch) for p in plan] == [
        (1, D("1.5"), False),
        (2, D("1.5"), False),
    ]
    plan = plan_titration(
        [TitrationStep(D("1.5"), 14), TitrationStep(D("3"), 14)],
        strength_mg=D("4.5"),
        unit="capsule",
        strength_range=(D("0.5"), D("4.5")),
    )
    assert [(p.amount.text(), p.own_batch) for p in plan] == [
        ("1 capsule (1.5 mg)", True),
        ("1 capsule (3 mg)", True),
    ]
    assert strengths_needed(plan, 1) == {D("1.5"): 14, D("3"): 14}


def test_capsule_step_outside_the_formula_range_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        plan_titration(
            [TitrationStep(D("0.25"), 7), TitrationStep(D("2"), 7)],
            strength_mg=D("4.5"),
            unit="capsule",
            strength_range=(D("0.5"), D("4.5")),
            formula_name="LDN-CAP v1",
        )
    (err,) = exc.value.errors
    assert err.field == "titration[0].strength_mg"
    assert "LDN-CAP v1 makes capsules of 0.5–4.5 mg only" in err.message


def test_capsule_unit_step_counts_capsules_of_the_product_strength():
    plan = plan_titration([TitrationStep(None, 7, D("2"))], strength_mg=D("1.5"), unit="capsule")
    assert plan[0].amount.text() == "2 capsules (3 mg)"
