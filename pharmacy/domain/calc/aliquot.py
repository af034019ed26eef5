"""R6: solid aliquot (trituration) when the API is below the balance's minimum weighable quantity."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from .arithmetic import ceil_int, round_weighing
from .steps import Step, mg, num


@dataclass(frozen=True)
class Aliquot:
    multiple: int
    stock_api_mg: Decimal
    diluent_mg: Decimal
    stock_total_mg: Decimal
    aliquot_mg: Decimal


def needs_aliquot(api_weighed_mg: Decimal, mwq_mg: Decimal) -> bool:
    return api_weighed_mg < mwq_mg


def aliquot_multiple(api_unrounded_mg: Decimal, mwq_mg: Decimal) -> int:
    """m = ceil(MWQ / A), with A unrounded so the multiple never depends on display rounding."""
    return ceil_int(mwq_mg / api_unrounded_mg)


def plan_aliquot(api_unrounded_mg: Decimal, mwq_mg: Decimal) -> Aliquot:
    a = api_unrounded_mg
    m = aliquot_multiple(a, mwq_mg)
    stock_api = round_weighing(m * a)
    portion = mwq_mg
    if m * portion - stock_api < mwq_mg:
        # Q = A + MWQ/m makes the diluent m·Q − m·A = MWQ; rounding up to a whole mg keeps it ≥ MWQ.
        portion = (a + mwq_mg / m).to_integral_value(rounding=ROUND_CEILING)
    # Whole-mg and MWQ amounts carry two places so every weighing prints like the balance.
    portion = round_weighing(portion)
    stock_total = round_weighing(m * portion)
    return Aliquot(
        multiple=m,
        stock_api_mg=stock_api,
        diluent_mg=stock_total - stock_api,
        stock_total_mg=stock_total,
        aliquot_mg=portion,
    )


def aliquot_steps(
    api_unrounded_mg: Decimal, api_weighed_mg: Decimal, mwq_mg: Decimal, plan: Aliquot, diluent: str
) -> list[Step]:
    a, m = api_unrounded_mg, plan.multiple
    default_diluent = m * mwq_mg - plan.stock_api_mg
    if plan.aliquot_mg == mwq_mg:
        portion_formula = (
            f"Q = MWQ = {num(mwq_mg)} mg (diluent {m} × {num(mwq_mg)} − "
            f"{num(plan.stock_api_mg)} = {num(default_diluent)} mg ≥ MWQ)"
        )
    else:
        portion_formula = (
            f"diluent at Q = MWQ would be {m} × {num(mwq_mg)} − {num(plan.stock_api_mg)} = "
            f"{num(default_diluent)} mg < MWQ, so Q = {num(a)} + {num(mwq_mg)} ÷ {m} = "
            f"{num(a + mwq_mg / m)}, rounded up to {num(plan.aliquot_mg)} mg"
        )
    return [
        Step(
            "aliquot_needed",
            "Aliquot needed",
            f"API {mg(api_weighed_mg)} is below the balance minimum weighable quantity "
            f"{num(mwq_mg)} mg",
            "yes",
            "",
        ),
        Step(
            "aliquot_multiple",
            "Aliquot multiple m",
            f"m = ceil({num(mwq_mg)} ÷ {num(a)}) = {m}",
            Decimal(m),
            "",
        ),
        Step(
            "stock_api",
            "Weigh API for the stock",
            f"{m} × {num(a)} mg = {num(m * a)} mg, rounded to {mg(plan.stock_api_mg)}",
            plan.stock_api_mg,
            "mg",
        ),
        Step("aliquot_portion", "Aliquot portion Q", portion_formula, plan.aliquot_mg, "mg"),
        Step(
            "stock_total",
            "Stock mixture total",
            f"{m} × {num(plan.aliquot_mg)} mg = {num(plan.stock_total_mg)} mg",
            plan.stock_total_mg,
            "mg",
        ),
        Step(
            "stock_diluent",
            f"Weigh diluent ({diluent}) for the stock",
            f"{num(plan.stock_total_mg)} − {mg(plan.stock_api_mg)} = {mg(plan.diluent_mg)}",
            plan.diluent_mg,
            "mg",
        ),
        Step(
            "aliquot_weigh",
            "Weigh the aliquot of the stock into the batch",
            f"Mix the stock geometrically, then weigh Q = {mg(plan.aliquot_mg)} "
            f"(contains {num(plan.stock_api_mg / m)} mg API)",
            plan.aliquot_mg,
            "mg",
        ),
    ]
