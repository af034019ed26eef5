"""Batch start, step 1: the request checked against the formula, the orders it is for
(formula, unit, strength or concentration, basis) and the balance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session, selectinload

from ...domain.errors import FieldError, ValidationFailed
from ...domain.formula_rules import form_family
from ...models import Balance, Formula, FormulaIngredient, Order
from .common import (
    START_ORDER_STATUSES,
    _label,
    _num,
    _orders_for,
    _same_formula,
    _whole,
)
from .fill import requirements


@dataclass(frozen=True)
class StartInput:
    formula_id: int | None
    balance_id: int | None
    strength_mg: Decimal | None = None
    strength_basis: str | None = None
    quantity: Decimal | int | None = None  # capsules (capsule formulas) or mL (liquids)
    order_ids: tuple[int, ...] = ()
    override_lot_ids: tuple[int, ...] = ()  # replaces FEFO for the lot's ingredient
    override_reason: str = ""
    compounded_on: date | None = None
    # A pharmacist's documented acceptance of an API lot assaying outside 98.0-102.0 %.
    potency_acceptance: str = ""
    # A pharmacist's reason to go ahead despite an excipient allergy finding.
    allergy_override: str = ""


def _check_orders_fit(
    session: Session, formula: Formula, orders: Sequence[Order], unit: str
) -> list[FieldError]:
    errors = []
    for o in orders:
        rx = o.prescription
        if o.status not in START_ORDER_STATUSES:
            errors.append(
                FieldError("order_ids", f"order {o.number} is {_label(o.status)}, not verified")
            )
        if o.quantity_unit != unit:
            errors.append(
                FieldError("order_ids", f"order {o.number} is for {o.quantity_unit}, not {unit}")
            )
        if not _same_formula(session, rx, formula.id):
            errors.append(FieldError("order_ids", f"order {o.number} is for another formula"))
    # A titration order takes several strengths (one batch per step strength): the orders
    # must share at least one strength, and the basis.
    if orders and (
        len({o.prescription.strength_basis for o in orders}) > 1
        or not set.intersection(*(set(requirements(o)) for o in orders))
    ):
        errors.append(FieldError("order_ids", "the orders are for different strengths"))
    concentration = formula.concentration_mg_per_ml
    if unit == "mL" and concentration is not None:
        # A liquid's strength is its concentration: the formula makes only that one.
        errors += [
            FieldError(
                "order_ids",
                f"order {o.number} is for {_num(o.prescription.strength_mg)} mg/mL; "
                f"{formula.code} makes {_num(concentration)} mg/mL",
            )
            for o in orders
            if o.prescription.strength_mg != concentration
        ]
    return errors


@dataclass
class _Request:
    """The checked request: what to make, for which orders, on which balance."""

    formula: Formula
    kind: str
    unit: str
    orders: list[Order]
    strength: Decimal
    basis: str
    quantity: int
    balance: Balance
    on: date
    reason: str


def _approved_formula(session: Session, formula_id: int | None) -> Formula:
    # Its lines and their ingredients with it (every step below reads them): 2 statements,
    # not one per line.
    formula = (
        session.get(
            Formula,
            formula_id,
            options=[selectinload(Formula.lines).joinedload(FormulaIngredient.ingredient)],
        )
        if formula_id
        else None
    )
    if formula is None:
        raise ValidationFailed.single("formula_id", "choose an approved formula")
    if formula.status != "approved":
        raise ValidationFailed.single(
            "formula_id",
            f"{formula.code} v{formula.version} is {formula.status}; only an approved "
            "master formulation record can be compounded",
        )
    return formula


def _strength_for(
    inp: StartInput, orders: Sequence[Order], formula: Formula, kind: str
) -> tuple[Decimal | None, str]:
    """The strength asked for, or the orders' own; it must match the orders'. A liquid's
    strength is the formula's concentration (mg/mL), whatever was typed."""
    strength, basis = inp.strength_mg, inp.strength_basis
    if kind == "liquid" and formula.concentration_mg_per_ml is not None:
        concentration = formula.concentration_mg_per_ml
        if strength is not None and strength != concentration:
            raise ValidationFailed.single(
                "strength_mg",
                f"{formula.code} makes {_num(concentration)} mg/mL, not {_num(strength)} mg/mL",
            )
        strength = concentration
        if orders and basis is None:
            basis = orders[0].prescription.strength_basis
    if orders:
        rx = orders[0].prescription
        wanted = [s for s in requirements(orders[0]) if all(s in requirements(o) for o in orders)]
        if strength is None:
            strength, basis = rx.strength_mg, rx.strength_basis
        elif strength not in wanted or (basis or "hcl") != rx.strength_basis:
            named = " or ".join(f"{_num(s)} mg" for s in sorted(wanted))
            raise ValidationFailed.single(
                "strength_mg",
                f"the orders are for {named} ({rx.strength_basis}); not {_num(strength)} mg",
            )
    return strength, basis or "hcl"


def _balance_for(session: Session, balance_id: int | None, on: date) -> Balance:
    balance = session.get(Balance, balance_id) if balance_id else None
    if balance is None or not balance.active:
        raise ValidationFailed.single("balance_id", "choose the balance you will weigh on")
    if balance.calibration_due < on:
        raise ValidationFailed.single(
            "balance_id",
            f"{balance.name} was due for calibration on {balance.calibration_due.isoformat()}",
        )
    return balance


def _check_request(session: Session, inp: StartInput) -> _Request:
    on = inp.compounded_on or date.today()
    formula = _approved_formula(session, inp.formula_id)
    kind = form_family(formula.dosage_form)
    unit = "capsule" if kind == "capsule" else "mL"
    orders = _orders_for(session, tuple(dict.fromkeys(inp.order_ids)))
    errors = _check_orders_fit(session, formula, orders, unit)
    if errors:
        raise ValidationFailed(errors)
    # The field checks below are independent: each is reported, so a form shows them all at once.
    try:
        strength, basis = _strength_for(inp, orders, formula, kind)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        strength, basis = None, inp.strength_basis or "hcl"
    # Of this strength only: a titration's step batch makes just that step's units.
    ordered_total = sum((requirements(o).get(strength, Decimal(0)) for o in orders), Decimal(0))
    quantity = inp.quantity if inp.quantity not in (None, "") else (ordered_total or None)
    if strength is None:
        if not errors:
            errors.append(FieldError("strength_mg", "is required"))
    elif kind == "capsule" and not (formula.strength_min_mg <= strength <= formula.strength_max_mg):
        errors.append(
            FieldError(
                "strength_mg",
                f"{formula.code} covers {_num(formula.strength_min_mg)}–"
                f"{_num(formula.strength_max_mg)} mg",
            )
        )
    if quantity is None:
        errors.append(FieldError("quantity", "is required"))
    else:
        try:
            quantity = _whole(quantity, "quantity")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        else:
            if quantity < ordered_total:
                errors.append(
                    FieldError(
                        "quantity",
                        f"the orders need {_num(ordered_total)} {unit}; make at least that many",
                    )
                )
    try:
        balance = _balance_for(session, inp.balance_id, on)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    reason = (inp.override_reason or "").strip()
    if inp.override_lot_ids and not reason:
        errors.append(
            FieldError(
                "override_reason", "choosing a lot other than first-expiry-first-out needs a reason"
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return _Request(formula, kind, unit, orders, strength, basis, quantity, balance, on, reason)
