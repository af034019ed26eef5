"""Quantities round-trip exactly on SQLite and PostgreSQL, and SQL sums stay exact.

Uses a scratch table of its own so the column type is tested apart from any model's
constraints."""

from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, type_coerce

from pharmacy.database import ExactDecimal
from pharmacy.extensions import db

scratch = MetaData()
quantities = Table(
    "scratch_quantity",
    scratch,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal(scale=4)),
)

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
    "0.3000",
]


@pytest.fixture
def conn(app):
    with app.app_context(), db.engine.begin() as connection:
        scratch.create_all(connection)
        yield connection
        scratch.drop_all(connection)


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_quantity_round_trips_exactly(conn, value):
    conn.execute(insert(quantities).values(amount=Decimal(value)))
    got = conn.scalar(select(quantities.c.amount))
    assert got == Decimal(value)
    assert isinstance(got, Decimal)


def test_sum_in_sql_is_exact(conn):
    conn.execute(insert(quantities), [{"amount": Decimal("0.1")} for _ in range(10)])
    total = conn.scalar(
        select(type_coerce(func.sum(quantities.c.amount), quantities.c.amount.type))
    )
    assert total == Decimal("1")


@pytest.mark.parametrize("bad", [Decimal("0.00001"), 0.1, Decimal("1e20"), Decimal("NaN")])
def test_inexact_or_float_values_are_refused(conn, bad):
    with pytest.raises(Exception) as err:  # noqa: B017
        conn.execute(insert(quantities).values(amount=bad))
    assert any(w in str(err.value) for w in ("decimal places", "float", "too large", "finite"))


def test_stored_quantities_come_back_without_padding_zeros(conn):
    conn.execute(insert(quantities), [{"amount": Decimal("200.0")}, {"amount": Decimal("0.80")}])
    got = [str(v) for v in conn.scalars(select(quantities.c.amount).order_by(quantities.c.id))]
    assert got == ["200", "0.8"]
