"""R8 capsule weight check: every capsule's net fill must be inside the tolerance band."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .arithmetic import HUNDRED, exact, round_weighing
from .inputs import WeightCheckRequest
from .serialize import jsonable
from .steps import Step, mg, num, pct
from .validation import ErrorCollector

PERCENT_QUANTUM = Decimal("0.01")


@dataclass(frozen=True)
class UnitWeight:
    number: int
    gross_mg: Decimal
    net_mg: Decimal
    percent_of_target: Decimal
    passed: bool


@dataclass(frozen=True)
class WeightCheckResult:
    passed: bool
    mean_net_mg: Decimal
    fill_target_mg: Decimal
    fill_min_mg: Decimal
    fill_max_mg: Decimal
    units: tuple[UnitWeight, ...]
    steps: tuple[Step, ...]

    def to_dict(self) -> dict[str, object]:
        return jsonable(self)


def fill_limits(target_mg: Decimal, tolerance_percent: Decimal) -> tuple[Decimal, Decimal]:
    """Inclusive net-fill bounds [F(1 − t), F(1 + t)], kept exact so no bound is rounded inward."""
    band = target_mg * tolerance_percent / HUNDRED
    return target_mg - band, target_mg + band


def validate_tolerance(errors: ErrorCollector, tolerance: Decimal, field: str) -> None:
    if errors.finite(field, tolerance, "R8") and not (0 <= tolerance < HUNDRED):
        errors.add(field, "R8: tolerance must be at least 0% and below 100%")


@exact
def check_weights(request: WeightCheckRequest) -> WeightCheckResult:
    errors = ErrorCollector()
    errors.positive("fill_target_mg", request.fill_target_mg, "R8")
    validate_tolerance(errors, request.tolerance_percent, "tolerance_percent")
    if errors.finite("shell_mg", request.shell_mg, "R8") and request.shell_mg < 0:
        errors.add("shell_mg", "R8: the empty shell weight must not be negative")
    if not request.gross_weights_mg:
        errors.add("gross_weights_mg", "R8: weigh at least one capsule")
    for i, gross in enumerate(request.gross_weights_mg):
        errors.positive(f"gross_weights_mg[{i}]", gross, "R8")
    errors.raise_if_any()

    target, shell = request.fill_target_mg, request.shell_mg
    low, high = fill_limits(target, request.tolerance_percent)
    units = []
    for number, gross in enumerate(request.gross_weights_mg, start=1):
        net = gross - shell
        units.append(
            UnitWeight(
                number=number,
                gross_mg=gross,
                net_mg=net,
                # Display only: pass/fail is decided on the exact net weight below.
                percent_of_target=(net / target * HUNDRED).quantize(
                    PERCENT_QUANTUM, rounding=ROUND_HALF_UP
                ),
                passed=low <= net <= high,
            )
        )
    mean_net = round_weighing(sum((u.net_mg for u in units), Decimal(0)) / len(units))
    passed = all(u.passed for u in units)
    failed = [str(u.number) for u in units if not u.passed]

    steps = [
        Step(
            "weight_limits",
            "Acceptable net fill per capsule",
            f"{num(target)} mg ± {pct(request.tolerance_percent)} = {num(low)}–{num(high)} mg "
            f"(gross {num(low + shell)}–{num(high + shell)} mg with a {num(shell)} mg shell)",
            target,
            "mg",
        ),
        *(
            Step(
                f"unit_{u.number}",
                f"Capsule {u.number}",
                f"{num(u.gross_mg)} − {num(shell)} = {num(u.net_mg)} mg "
                f"({num(u.percent_of_target)}% of target): {'pass' if u.passed else 'FAIL'}",
                u.net_mg,
                "mg",
            )
            for u in units
        ),
        Step(
            "mean_net",
            "Mean net fill (for information; every capsule must pass)",
            f"{mg(mean_net)} over {len(units)} capsules",
            mean_net,
            "mg",
        ),
        Step(
            "weight_check_result",
            "Weight check",
            "all capsules within limits"
            if passed
            else f"FAILED: capsule(s) {', '.join(failed)} outside limits; do not dispense them",
            "pass" if passed else "fail",
            "",
        ),
    ]
    return WeightCheckResult(
        passed=passed,
        mean_net_mg=mean_net,
        fill_target_mg=target,
        fill_min_mg=low,
        fill_max_mg=high,
        units=tuple(units),
        steps=tuple(steps),
    )
