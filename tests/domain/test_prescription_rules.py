from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.prescription_rules import PrescriptionTerms, add_months, validate_entry

WRITTEN = date(2024, 3, 10)


def test_last_fill_date_is_one_year_after_written_by_default():
    terms = PrescriptionTerms(WRITTEN, refills_authorised=2)
    assert terms.last_fill_date == date(2025, 3, 10)
    assert terms.can_fill(date(2025, 3, 10)).allowed
    decision = terms.can_fill(date(2025, 3, 11))
    assert not decision.allowed
    assert decision.codes == ("expired",)
    assert "last fill date 2025-03-10" in decision.reasons[0].message


def test_validity_is_configurable():
    terms = PrescriptionTerms(WRITTEN, refills_authorised=0, validity_months=6)
    assert terms.last_fill_date == date(2024, 9, 10)
    assert terms.can_fill(date(2024, 9, 11)).codes == ("expired",)


def test_leap_day_clamps_to_end_of_february():
    assert PrescriptionTerms(date(2024, 2, 29), 0).last_fill_date == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


def test_fills_remaining_counts_the_first_fill():
    terms = PrescriptionTerms(WRITTEN, refills_authorised=2, fills_made=0)
    assert (terms.fills_allowed, terms.fills_remaining, terms.refills_remaining) == (3, 3, 2)
    after_first = PrescriptionTerms(WRITTEN, refills_authorised=2, fills_made=1)
    assert (after_first.fills_remaining, after_first.refills_remaining) == (2, 2)
    used_up = PrescriptionTerms(WRITTEN, refills_authorised=2, fills_made=3)
    assert (used_up.fills_remaining, used_up.refills_remaining) == (0, 0)
    decision = used_up.can_fill(date(2024, 4, 1))
    assert decision.codes == ("no_fills_remaining",)
    assert decision.reasons[0].message == "all 3 authorised fills have been made (1 + 2 refills)"


def test_every_reason_is_reported_together():
    terms = PrescriptionTerms(WRITTEN, refills_authorised=0, fills_made=1, status="cancelled")
    decision = terms.can_fill(date(2026, 1, 1))
    assert not decision.allowed
    assert decision.codes == ("status_not_fillable", "expired", "no_fills_remaining")
    assert decision.reasons[0].message == "the prescription is cancelled"


def test_fill_before_date_written_is_refused():
    assert PrescriptionTerms(WRITTEN, 1).can_fill(date(2024, 3, 9)).codes == (
        "before_date_written",
    )


@pytest.mark.parametrize(
    "status,allowed",
    [("entered", True), ("verified", True), ("on_hold", False), ("expired", False)],
)
def test_status_gates_filling(status, allowed):
    assert (
        PrescriptionTerms(WRITTEN, 1, status=status).can_fill(date(2024, 4, 1)).allowed is allowed
    )


@given(st.dates(date(2000, 1, 1), date(2090, 12, 31)), st.integers(0, 11), st.integers(0, 12))
def test_can_fill_matches_the_rules(written, refills, made):
    terms = PrescriptionTerms(written, refills, fills_made=made)
    for offset in (-1, 0, 200, 365, 366, 367):
        on = written + timedelta(days=offset)
        expected = written <= on <= terms.last_fill_date and made <= refills
        assert terms.can_fill(on).allowed is expected


def test_validate_entry_accepts_good_input():
    validate_entry(
        date_written=WRITTEN,
        today=WRITTEN,
        quantity=30,
        strength_mg=Decimal("4.5"),
        refills_authorised=11,
    )


def test_validate_entry_names_every_bad_field():
    with pytest.raises(ValidationFailed) as exc:
        validate_entry(
            date_written=date(2024, 3, 11),
            today=WRITTEN,
            quantity=0,
            strength_mg=Decimal("-1.5"),
            refills_authorised=12,
        )
    assert [e.field for e in exc.value.errors] == [
        "date_written",
        "quantity",
        "strength_mg",
        "refills_authorised",
    ]
    assert exc.value.errors[0].message == "2024-03-11 is in the future"
    assert exc.value.errors[3].message == "refills must be a whole number from 0 to 11"


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"date_written": None}, "date_written"),
        ({"quantity": 30.0}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"strength_mg": Decimal("NaN")}, "strength_mg"),
        ({"strength_mg": True}, "strength_mg"),
        ({"refills_authorised": -1}, "refills_authorised"),
        ({"refills_authorised": True}, "refills_authorised"),
        ({"refills_authorised": None}, "refills_authorised"),
    ],
)
def test_validate_entry_single_bad_field(kwargs, field):
    good = {
        "date_written": WRITTEN,
        "today": WRITTEN,
        "quantity": 30,
        "strength_mg": Decimal("1.5"),
        "refills_authorised": 0,
    }
    with pytest.raises(ValidationFailed) as exc:
        validate_entry(**(good | kwargs))
    assert [e.field for e in exc.value.errors] == [field]


def test_max_refills_is_configurable():
    validate_entry(
        date_written=WRITTEN,
        today=WRITTEN,
        quantity=1,
        strength_mg=Decimal(1),
        refills_authorised=20,
        max_refills=20,
    )
