"""Training is current from an initial training until a year after the latest one."""

from datetime import date

from pharmacy.domain.training import Record, status

ON = date(2026, 12, 1)


def test_no_initial_training_is_not_current():
    ok, why = status([Record("compounding", "annual", date(2026, 6, 1))], "compounding", ON)
    assert not ok and "no initial training for compounding" in why
    assert status([], "release", ON) == (False, "no initial training for batch release is recorded")


def test_current_for_a_year_then_renewed_by_the_yearly_refresher():
    initial = Record("compounding", "initial", date(2025, 12, 1))
    assert status([initial], "compounding", ON) == (True, "until 2026-12-01")
    ok, why = status([initial], "compounding", date(2026, 12, 2))
    assert not ok and "expired on 2026-12-01" in why
    annual = Record("compounding", "annual", date(2026, 11, 20))
    assert status([initial, annual], "compounding", date(2027, 1, 5))[0]


def test_training_for_one_task_does_not_cover_another():
    assert not status([Record("compounding", "initial", ON)], "release", ON)[0]
