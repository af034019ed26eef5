"""Quantities round-trip exactly on SQLite and PostgreSQL, and SQL sums stay exact."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, type_coerce

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Balance

EDGE_VALUES = [
    "0",
    "0.0001",
    "-0.0001",
    "0.1",
    "0.3",
    "1.0005",
    "4.5",
    "99999999999999.9999",
    "-99999999999999.9999",
    "123456789.0123",
    "0.30000000000000004"[:6],
]


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_quantity_round_trips_exactly(app, value):
    with app.app_context():
        with unit_of_work() as s:
            s.add(
                Balance(
                    name=f"b{value}",
                    readability_mg=Decimal(value),
                    mwq_mg=Decimal("120"),
                    calibration_due=date(2030, 1, 1),
                )
            )
        db.session.expire_all()
        got = db.session.scalar(select(Balance.readability_mg))
        assert got == Decimal(value)
        assert isinstance(got, Decimal)


def test_sum_in_sql_is_exact(app):
    with app.app_context():
        with unit_of_work() as s:
            for i in range(10):
                s.add(
                    Balance(
                        name=f"b{i}",
                        readability_mg=Decimal("0.1"),
                        mwq_mg=Decimal("120"),
                        calibration_due=date(2030, 1, 1),
                    )
                )
        total = db.session.scalar(
            select(type_coerce(func.sum(Balance.readability_mg), Balance.readability_mg.type))
        )
        assert total == Decimal("1.0")


@pytest.mark.parametrize("bad", [Decimal("0.00001"), 0.1, Decimal("1e20"), Decimal("NaN")])
def test_inexact_or_float_values_are_refused(app, bad):
    with app.app_context():
        with pytest.raises(Exception) as err, unit_of_work() as s:  # noqa: B017
            s.add(
                Balance(
                    name="bad",
                    readability_mg=bad,
                    mwq_mg=Decimal("120"),
                    calibration_due=date(2030, 1, 1),
                )
            )
        assert any(w in str(err.value) for w in ("decimal places", "float", "too large", "finite"))
        assert db.session.scalar(select(func.count()).select_from(Balance)) == 0
