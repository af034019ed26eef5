"""R10 beyond-use dates and R11 expired components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .data import DEFAULT_TABLES, BudCategory, CalcTables
from .inputs import ComponentExpiry
from .steps import Step
from .validation import ErrorCollector


@dataclass(frozen=True)
class BudResult:
    bud: date
    limited_by: str
    storage: str
    category: BudCategory
    days: int
    steps: tuple[Step, ...]


def category_label(category: BudCategory) -> str:
    return f"USP <795> category {category.label} ({category.days} days)"


def validate_bud_inputs(
    errors: ErrorCollector,
    compounded_on: object,
    category_key: str | None,
    expiries: Sequence[ComponentExpiry],
    *,
    bud_days: object = None,
    stability_reference: str | None = None,
    dosage_form: str | None = None,
    tables: CalcTables = DEFAULT_TABLES,
) -> None:
    if not isinstance(compounded_on, date):
        errors.add("compounded_on", "R10: the compounding date is required (YYYY-MM-DD)")
        compounded_on = None
    category = tables.bud_categories.get(category_key) if category_key else None
    if category is None:
        known = ", ".join(tables.bud_categories)
        errors.add("bud_category", f"R10: unknown BUD category; use one of {known}")
    elif dosage_form is not None and dosage_form not in category.dosage_forms:
        errors.add(
            "bud_category", f"R10: category {category.key} does not apply to a {dosage_form}"
        )
    if bud_days is not None:
        if isinstance(bud_days, bool) or not isinstance(bud_days, int) or bud_days < 1:
            errors.add("bud_days", "R10: a formula BUD must be a whole number of days, at least 1")
        elif (
            category is not None
            and bud_days > category.days
            and not (stability_reference and stability_reference.strip())
        ):
            errors.add(
                "bud_days",
                f"R10: {bud_days} days is beyond the USP <795> limit of {category.days} days "
                f"for {category.label}; a stability reference is required",
            )
    for i, component in enumerate(expiries):
        if not component.name or not component.name.strip():
            errors.add(f"component_expiries[{i}].name", "R10: a component name is required")
        if not isinstance(component.expires, date):
            errors.add(f"component_expiries[{i}].expires", "R10: an expiry date is required")
            continue
        if compounded_on is not None and component.effective_date < compounded_on:
            errors.add(
                f"component_expiries[{i}].expires",
                f"R11: {component.name} expired on {component.effective_date.isoformat()}, "
                f"before the compounding date {compounded_on.isoformat()}",
            )


def beyond_use_date(
    compounded_on: date,
    category_key: str,
    component_expiries: Sequence[ComponentExpiry] = (),
    *,
    bud_days: int | None = None,
    stability_reference: str | None = None,
    dosage_form: str | None = None,
    tables: CalcTables = DEFAULT_TABLES,
) -> BudResult:
    """BUD = compounding date + N days (day 0 = compounding day), capped by every component."""
    errors = ErrorCollector()
    validate_bud_inputs(
        errors,
        compounded_on,
        category_key,
        component_expiries,
        bud_days=bud_days,
        stability_reference=stability_reference,
        dosage_form=dosage_form,
        tables=tables,
    )
    errors.raise_if_any()

    category = tables.bud_categories[category_key]
    if bud_days is None:
        days, source = category.days, category_label(category)
        days_formula = f"{category.label}: {days} days (USP <795>)"
    elif bud_days > category.days:
        days = bud_days
        reference = (stability_reference or "").strip()
        source = f"formula BUD {days} days (stability reference: {reference})"
        days_formula = f"formula BUD {days} days, supported by {reference}"
    else:
        days, source = bud_days, f"formula BUD ({bud_days} days)"
        days_formula = f"formula BUD {days} days (within the USP <795> limit of {category.days})"

    table_bud = compounded_on + timedelta(days=days)
    steps = [
        Step("bud_period", "BUD period", days_formula, Decimal(days), "days"),
        Step(
            "bud_from_date",
            "BUD from the compounding date",
            f"{compounded_on.isoformat()} + {days} days = {table_bud.isoformat()}",
            table_bud.isoformat(),
            "",
        ),
    ]

    bud, limited_by = table_bud, source
    for component in component_expiries:
        # Strictly earlier only: on a tie the category (the general rule) is named.
        if component.effective_date < bud:
            bud, limited_by = component.effective_date, component.name
    for component in component_expiries:
        suffix = " (month only: last day of the month)" if component.month_only else ""
        steps.append(
            Step(
                "component_expiry",
                f"Expiry of {component.name}",
                f"{component.effective_date.isoformat()}{suffix}",
                component.effective_date.isoformat(),
                "",
            )
        )
    steps.append(
        Step(
            "bud",
            "Beyond-use date",
            f"earliest of {table_bud.isoformat()} and every component expiry = "
            f"{bud.isoformat()} (limited by {limited_by})",
            bud.isoformat(),
            "",
        )
    )
    return BudResult(bud, limited_by, category.storage, category, days, tuple(steps))
