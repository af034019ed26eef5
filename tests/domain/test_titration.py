from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.titration import (
    TitrationStep,
    daily_dose_mg,
    maintenance_start,
    schedule,
    step_on,
    total_days,
    validate_steps,
)

PLAN = [
    TitrationStep(Decimal("1.5"), 14),
    TitrationStep(Decimal("3"), 14),
    TitrationStep(Decimal("4.5"), 7),
]


def test_schedule_lays_steps_end_to_end():
    planned = schedule(PLAN, date(2024, 2, 20))
    assert [(s.number, s.start, s.end) for s in planned] == [
        (1, date(2024, 2, 20), date(2024, 3, 4)),  # 14 days through a leap day
        (2, date(2024, 3, 5), date(2024, 3, 18)),
        (3, date(2024, 3, 19), date(2024, 3, 25)),
    ]
    assert [s.daily_dose_mg for s in planned] == [Decimal("1.5"), Decimal("3"), Decimal("4.5")]
    assert total_days(PLAN) == 35
    assert maintenance_start(PLAN, date(2024, 2, 20)) == date(2024, 3, 26)


def test_daily_dose_multiplies_by_doses_per_day():
    planned = schedule(PLAN, date(2024, 1, 1), doses_per_day=2)
    assert [s.daily_dose_mg for s in planned] == [Decimal("3.0"), Decimal("6"), Decimal("9.0")]
    assert daily_dose_mg(PLAN[0], 2) == Decimal("3.0")


def test_unit_steps_use_the_unit_strength():
    steps = [
        TitrationStep(None, 7, units_per_dose=Decimal(1)),
        TitrationStep(None, 7, units_per_dose=Decimal(3)),
    ]
    planned = schedule(steps, date(2024, 1, 1), unit_strength_mg=Decimal("1.5"))
    assert [s.mg_per_dose for s in planned] == [Decimal("1.5"), Decimal("4.5")]
    # Without a unit strength the dates are still known but the mg are not.
    unknown = schedule(steps, date(2024, 1, 1))
    assert [(s.mg_per_dose, s.daily_dose_mg) for s in unknown] == [(None, None), (None, None)]
    with pytest.raises(ValueError):
        daily_dose_mg(steps[0], 1)
    assert daily_dose_mg(steps[1], 1, Decimal("1")) == Decimal(3)


def test_step_on_finds_the_step_in_force():
    planned = schedule(PLAN, date(2024, 1, 1))
    assert step_on(planned, date(2023, 12, 31)) is None
    assert step_on(planned, date(2024, 1, 1)).number == 1
    assert step_on(planned, date(2024, 1, 14)).number == 1
    assert step_on(planned, date(2024, 1, 15)).number == 2
    assert step_on(planned, date(2024, 2, 4)).number == 3
    assert step_on(planned, date(2024, 2, 5)) is None


def test_empty_plan_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        validate_steps([])
    assert [(e.field, e.message) for e in exc.value.errors] == [
        ("titration", "a titration plan needs at least one step")
    ]


def test_every_bad_step_field_is_named():
    steps = [
        TitrationStep(Decimal("1.5"), 0),
        TitrationStep(Decimal("0"), 7),
        TitrationStep(None, 7),
        TitrationStep(Decimal("1"), 7, units_per_dose=Decimal(1)),
        TitrationStep(None, -3, units_per_dose=Decimal("-1")),
        TitrationStep(Decimal("1"), True),
        TitrationStep(1.5, 7),
    ]
    with pytest.raises(ValidationFailed) as exc:
        validate_steps(steps, field="prescription.titration")
    assert [e.field for e in exc.value.errors] == [
        "prescription.titration[0].days",
        "prescription.titration[1].strength_mg",
        "prescription.titration[2]",
        "prescription.titration[3]",
        "prescription.titration[4].days",
        "prescription.titration[4].units_per_dose",
        "prescription.titration[5].days",
        "prescription.titration[6].strength_mg",
    ]
    assert exc.value.errors[0].message == "step 1: days must be a whole number of at least 1"


def test_schedule_refuses_bad_doses_per_day():
    with pytest.raises(ValidationFailed) as exc:
        schedule(PLAN, date(2024, 1, 1), doses_per_day=0)
    assert exc.value.errors[0].field == "doses_per_day"


@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=8),
    st.dates(date(2000, 1, 1), date(2090, 1, 1)),
)
def test_schedule_has_no_gaps_or_overlaps(days, start):
    steps = [TitrationStep(Decimal("0.5") * (i + 1), d) for i, d in enumerate(days)]
    planned = schedule(steps, start)
    assert planned[0].start == start
    for prev, nxt in zip(planned, planned[1:], strict=False):
        assert (nxt.start - prev.end).days == 1
    for s, d in zip(planned, days, strict=True):
        assert (s.end - s.start).days + 1 == d
    assert (planned[-1].end - start).days + 1 == total_days(steps)


# --- parsing the intake text ------------------------------------------------------------------


def test_parse_steps_reads_mg_and_unit_steps_in_order():
    from pharmacy.domain.titration import TitrationStep, parse_steps

    steps = parse_steps(
        "1. 0.5 mg for 7 days\n\n1.5 MG x 14 d\n2 capsules, 14 days\n1.5 mL 10 days"
    )
    assert steps == [
        TitrationStep(Decimal("0.5"), 7),
        TitrationStep(Decimal("1.5"), 14),
        TitrationStep(None, 14, Decimal("2")),
        TitrationStep(None, 10, Decimal("1.5")),
    ]


def test_parse_steps_names_every_unreadable_line():
    from pharmacy.domain.titration import parse_steps

    with pytest.raises(ValidationFailed) as exc:
        parse_steps("1.5 mg for 14 days\nhalf a capsule daily\n3 mg")
    messages = [(e.field, e.message) for e in exc.value.errors]
    assert [f for f, _ in messages] == ["titration", "titration"]
    assert "line 2 ('half a capsule daily')" in messages[0][1]
    assert "line 3 ('3 mg')" in messages[1][1]


def test_parse_steps_passes_bad_numbers_on_for_validation_to_name():
    from pharmacy.domain.titration import parse_steps, validate_steps

    steps = parse_steps("1 mg for -3 days")
    with pytest.raises(ValidationFailed) as exc:
        validate_steps(steps)
    assert exc.value.errors[0].field == "titration[0].days"


def test_parse_steps_of_empty_text_is_no_plan():
    from pharmacy.domain.titration import parse_steps

    assert parse_steps("  \n ") == []
