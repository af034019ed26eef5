from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.lots import (
    Lot,
    Movement,
    expiring_within,
    fefo,
    first_fefo,
    is_usable,
    month_end,
    parse_expiry,
    stock_on_hand,
    usability,
)

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-03", date(2026, 3, 31)),
        ("03/2026", date(2026, 3, 31)),
        ("3/2026", date(2026, 3, 31)),
        ("2024-02", date(2024, 2, 29)),
        ("02/2025", date(2025, 2, 28)),
        ("2026-03-15", date(2026, 3, 15)),
        (" 2026-12 ", date(2026, 12, 31)),
    ],
)
def test_month_only_expiry_means_last_day_of_month(text, expected):
    assert parse_expiry(text) == expected


@pytest.mark.parametrize("text", ["", "13/2026", "2026-00", "2026-02-30", "March 2026", None])
def test_bad_expiry_is_refused_naming_the_field(text):
    with pytest.raises(ValidationFailed) as exc:
        parse_expiry(text, field="lots[0].expiry")
    assert exc.value.errors[0].field == "lots[0].expiry"


def test_month_end():
    assert month_end(2023, 2) == date(2023, 2, 28)
    assert month_end(2023, 12) == date(2023, 12, 31)


def test_released_in_date_lot_is_usable_through_its_expiry_day():
    lot = Lot("A1", expiry=TODAY, status="released", on_hand=Decimal("10"))
    assert usability(lot, TODAY).usable
    later = usability(lot, date(2025, 6, 16))
    assert later.codes == ("expired",)
    assert later.reasons[0].message == "lot A1 expired on 2025-06-15"


@pytest.mark.parametrize("status", ["quarantined", "rejected", "recalled"])
def test_unreleased_lots_are_not_usable(status):
    decision = usability(Lot("B2", date(2026, 1, 31), status), TODAY)
    assert not decision.usable
    assert decision.codes == (status,)


def test_stock_reasons():
    assert usability(Lot("C", date(2026, 1, 1), "released", on_hand=Decimal(0)), TODAY).codes == (
        "out_of_stock",
    )
    short = usability(
        Lot("C", date(2026, 1, 1), "released", on_hand=Decimal("2.5")), TODAY, Decimal("3")
    )
    assert short.codes == ("insufficient_stock",)
    assert short.reasons[0].message == "lot C holds 2.5, 3 is needed"
    assert is_usable(
        Lot("C", date(2026, 1, 1), "released", on_hand=Decimal("3")), TODAY, Decimal("3")
    )


def test_all_reasons_are_reported():
    lot = Lot("D", date(2025, 1, 31), "quarantined", on_hand=Decimal(0))
    assert usability(lot, TODAY).codes == ("quarantined", "expired", "out_of_stock")


def test_fefo_picks_first_expiring_usable_lot():
    lots = [
        Lot("late", date(2026, 12, 31), "released", Decimal(100), date(2025, 1, 1)),
        Lot("expired", date(2025, 5, 31), "released", Decimal(100)),
        Lot("quarantined", date(2025, 7, 31), "quarantined", Decimal(100)),
        Lot("short", date(2025, 8, 31), "released", Decimal(1)),
        Lot("soon-b", date(2025, 9, 30), "released", Decimal(100), date(2025, 3, 1)),
        Lot("soon-a", date(2025, 9, 30), "released", Decimal(100), date(2025, 2, 1)),
    ]
    assert [lot.id for lot in fefo(lots, TODAY, Decimal(5))] == ["soon-a", "soon-b", "late"]
    assert [lot.id for lot in fefo(lots, TODAY)] == ["short", "soon-a", "soon-b", "late"]
    assert first_fefo(lots, TODAY, Decimal(5)).id == "soon-a"
    assert first_fefo(lots, TODAY, Decimal(1000)) is None


lot_strategy = st.builds(
    Lot,
    id=st.integers(1, 10_000),
    expiry=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    status=st.sampled_from(["quarantined", "released", "rejected", "recalled"]),
    on_hand=st.one_of(st.none(), st.decimals(0, 500, places=2)),
    received_on=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2025, 6, 1))),
)


@given(
    st.lists(lot_strategy, max_size=20), st.one_of(st.none(), st.decimals("0.01", 100, places=2))
)
def test_fefo_is_the_sorted_usable_subset(lots, needed):
    ordered = fefo(lots, TODAY, needed)
    assert all(is_usable(lot, TODAY, needed) for lot in ordered)
    assert sum(1 for lot in lots if is_usable(lot, TODAY, needed)) == len(ordered)
    expiries = [lot.expiry for lot in ordered]
    assert expiries == sorted(expiries)


def test_expiring_within_default_sixty_days():
    lots = [
        Lot("past", date(2025, 6, 14), "released"),
        Lot("today", TODAY, "released"),
        Lot("day60", date(2025, 8, 14), "released"),
        Lot("day61", date(2025, 8, 15), "released"),
    ]
    assert [lot.id for lot in expiring_within(lots, TODAY)] == ["today", "day60"]
    assert [lot.id for lot in expiring_within(lots, TODAY, days=61)] == ["today", "day60", "day61"]


def test_stock_on_hand_is_receipts_minus_usages():
    receipts = [
        Movement(1, Decimal("25.000"), "g"),
        Movement(2, Decimal("500"), "capsule"),
        Movement(1, Decimal("5"), "g"),
    ]
    usages = [
        Movement(1, Decimal("0.450"), "g"),
        Movement(1, Decimal("1.35"), "g"),
        Movement(2, Decimal("100"), "capsule"),
    ]
    assert stock_on_hand(receipts, usages) == {
        1: (Decimal("28.200"), "g"),
        2: (Decimal("400"), "capsule"),
    }


def test_overdrawn_lot_shows_negative_rather_than_hiding_it():
    assert stock_on_hand([Movement("L", Decimal(1), "g")], [Movement("L", Decimal(2), "g")]) == {
        "L": (Decimal(-1), "g")
    }


@pytest.mark.parametrize(
    "receipts,usages",
    [
        ([Movement(1, Decimal(1), "g")], [Movement(1, Decimal(1), "mg")]),
        ([Movement(1, Decimal(0), "g")], []),
        ([Movement(1, Decimal(-5), "g")], []),
        ([Movement(1, 1.5, "g")], []),
    ],
)
def test_bad_movements_are_refused(receipts, usages):
    with pytest.raises(ValueError):
        stock_on_hand(receipts, usages)


@given(
    st.lists(st.tuples(st.integers(1, 3), st.decimals("0.001", 1000, places=3)), max_size=15),
    st.lists(st.tuples(st.integers(1, 3), st.decimals("0.001", 1000, places=3)), max_size=15),
)
def test_stock_on_hand_totals(receipt_rows, usage_rows):
    result = stock_on_hand(
        [Movement(lot, q, "g") for lot, q in receipt_rows],
        [Movement(lot, q, "g") for lot, q in usage_rows],
    )
    for lot in {r[0] for r in receipt_rows + usage_rows}:
        expected = sum((q for i, q in receipt_rows if i == lot), Decimal(0)) - sum(
            (q for i, q in usage_rows if i == lot), Decimal(0)
        )
        assert result[lot] == (expected, "g")
