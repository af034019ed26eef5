"""Property tests: the invariants hold for any valid input, not just the worked examples."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pharmacy.domain.calc import (
    BUD_CATEGORIES,
    ApiLot,
    Balance,
    CapsuleRequest,
    ComponentExpiry,
    Filler,
    LiquidRequest,
    beyond_use_date,
    calculate_capsules,
    calculate_liquid,
)
from pharmacy.domain.errors import ValidationFailed

HALF_CENT = Decimal("0.005")


def dec(lo: str, hi: str, places: int):
    return st.decimals(
        min_value=Decimal(lo),
        max_value=Decimal(hi),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


lots = st.one_of(
    st.builds(ApiLot, dec("90", "110", 2), st.just("as_is")),
    st.builds(ApiLot, dec("95", "102", 2), st.just("anhydrous"), dec("0", "10", 2)),
)

capsule_requests = st.builds(
    CapsuleRequest,
    strength_mg=dec("0.01", "6", 2),
    strength_basis=st.sampled_from(["hcl", "base"]),
    quantity=st.integers(1, 400),
    overage_percent=dec("0", "20", 1),
    capsule_size=st.sampled_from(["0", "1", "2", "3", "4"]),
    filler=st.builds(Filler, st.just("MCC"), dec("60", "500", 1)),
    api_lot=lots,
    balance=st.builds(Balance, dec("10", "300", 2)),
    compounded_on=st.just(date(2026, 1, 10)),
)


def _calculate(request):
    try:
        return calculate_capsules(request)
    except ValidationFailed as exc:
        # Only a batch too small to hold the aliquot/API may be refused for valid inputs.
        assert {e.field for e in exc.errors} <= {"quantity", "filler.fill_mg_per_capsule"}
        assume(False)


@settings(deadline=None, max_examples=300)
@given(capsule_requests)
def test_delivered_api_per_capsule_equals_the_strength_within_rounding(request):
    r = _calculate(request)
    n = r.capsules_to_make
    with localcontext() as ctx:
        ctx.prec = 60
        if r.aliquot is None:
            api_in_batch = r.api_mg
            tolerance = HALF_CENT * r.potency / n
        else:
            a = r.aliquot
            api_in_batch = a.stock_api_mg * a.aliquot_mg / a.stock_total_mg
            tolerance = HALF_CENT * r.potency / (a.multiple * n)
        delivered = api_in_batch * r.potency / n
        assert abs(delivered - r.strength_salt_mg) <= tolerance + Decimal("1e-40")


@settings(deadline=None, max_examples=300)
@given(capsule_requests)
def test_every_aliquot_weighing_is_at_least_the_mwq(request):
    r = _calculate(request)
    mwq = request.balance.mwq_mg
    if r.aliquot is None:
        assert r.api_mg >= mwq
    else:
        assert r.api_mg < mwq
        assert r.aliquot.stock_api_mg >= mwq
        assert r.aliquot.diluent_mg >= mwq
        assert r.aliquot.aliquot_mg >= mwq
        assert r.aliquot.stock_total_mg == r.aliquot.stock_api_mg + r.aliquot.diluent_mg
    if 0 < r.filler_mg < mwq:
        assert r.warnings


@settings(deadline=None, max_examples=300)
@given(capsule_requests)
def test_filler_plus_api_is_the_total_powder(request):
    r = _calculate(request)
    into_batch = r.api_mg if r.aliquot is None else r.aliquot.aliquot_mg
    assert r.filler_mg + into_batch == r.total_powder_mg
    assert r.filler_mg >= 0
    for amount in (r.api_mg, r.filler_mg, r.total_powder_mg):
        assert amount == amount.quantize(Decimal("0.01"))


@settings(deadline=None, max_examples=300)
@given(
    compounded_on=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    category=st.sampled_from(sorted(BUD_CATEGORIES)),
    offsets=st.lists(st.tuples(st.integers(0, 800), st.booleans()), max_size=6),
)
def test_bud_is_never_after_any_component_expiry(compounded_on, category, offsets):
    comps = []
    for i, (offset, month_only) in enumerate(offsets):
        expires = compounded_on + timedelta(days=offset)
        comps.append(ComponentExpiry(f"c{i}", expires, month_only))
    r = beyond_use_date(compounded_on, category, comps)
    assert compounded_on <= r.bud <= compounded_on + timedelta(days=BUD_CATEGORIES[category].days)
    for c in comps:
        assert r.bud <= c.effective_date
    assert r.bud == min(
        [compounded_on + timedelta(days=r.days)] + [c.effective_date for c in comps]
    )
    if r.bud != compounded_on + timedelta(days=r.days):
        assert r.limited_by in {c.name for c in comps}


@settings(deadline=None, max_examples=200)
@given(
    concentration=dec("0.1", "5", 2),
    volume=dec("1", "500", 1),
    lot=lots,
    mwq=dec("10", "300", 2),
)
def test_liquid_concentration_is_delivered_within_rounding(concentration, volume, lot, mwq):
    r = calculate_liquid(
        LiquidRequest(
            concentration_mg_per_ml=concentration,
            volume_ml=volume,
            bud_category="preserved_aqueous",
            compounded_on=date(2026, 1, 10),
            api_lot=lot,
            balance=Balance(mwq),
        )
    )
    assert r.api_mg >= mwq
    assert r.prepare_volume_ml == r.multiple * volume
    assert r.undispensed_volume_ml == r.prepare_volume_ml - volume
    with localcontext() as ctx:
        ctx.prec = 60
        delivered = r.api_mg * r.potency / r.prepare_volume_ml
        tolerance = HALF_CENT * r.potency / r.prepare_volume_ml
        # The epsilon absorbs last-digit division error when the rounding lands exactly on 0.005.
        assert abs(delivered - concentration) <= tolerance + Decimal("1e-40")
