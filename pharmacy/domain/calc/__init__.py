"""LDN formulation engine (issue 3, R1–R12): pure Decimal calculations, no Flask, no database.

Entry points: ``calculate_capsules``, ``calculate_liquid``, ``check_weights`` and
``beyond_use_date``. Each validates every input first and raises
``pharmacy.domain.errors.ValidationFailed`` naming every bad field (JSON API field paths) and
the rule it broke; results are frozen dataclasses with ``to_dict()`` (Decimals as exact strings).
"""

from .aliquot import Aliquot, plan_aliquot
from .bud import BudResult, beyond_use_date
from .capsules import CapsuleResult, batch_size, calculate_capsules
from .data import (
    BUD_CATEGORIES,
    CAPSULE_VOLUMES_ML,
    DEFAULT_CAPSULE_BUD_CATEGORY,
    DEFAULT_TABLES,
    FORBIDDEN_LDN_FILLERS,
    NALTREXONE,
    ApiSubstance,
    BudCategory,
    CalcTables,
    forbidden_filler_reason,
    substance_for,
)
from .inputs import (
    ANHYDROUS,
    AS_IS,
    BASE,
    HCL,
    ApiLot,
    Balance,
    CapsuleRequest,
    ComponentExpiry,
    Filler,
    LiquidRequest,
    TabletSource,
    WeightCheckRequest,
    parse_component_expiries,
    parse_expiry,
)
from .liquids import SHAKE_WELL, LiquidResult, calculate_liquid
from .potency import lot_potency, strength_in_salt
from .serialize import jsonable
from .steps import Step
from .weight_check import UnitWeight, WeightCheckResult, check_weights, fill_limits

__all__ = [
    "ANHYDROUS",
    "AS_IS",
    "BASE",
    "BUD_CATEGORIES",
    "CAPSULE_VOLUMES_ML",
    "DEFAULT_CAPSULE_BUD_CATEGORY",
    "DEFAULT_TABLES",
    "FORBIDDEN_LDN_FILLERS",
    "HCL",
    "NALTREXONE",
    "SHAKE_WELL",
    "Aliquot",
    "ApiLot",
    "ApiSubstance",
    "Balance",
    "BudCategory",
    "BudResult",
    "CalcTables",
    "CapsuleRequest",
    "CapsuleResult",
    "ComponentExpiry",
    "Filler",
    "LiquidRequest",
    "LiquidResult",
    "Step",
    "TabletSource",
    "UnitWeight",
    "WeightCheckRequest",
    "WeightCheckResult",
    "batch_size",
    "beyond_use_date",
    "calculate_capsules",
    "calculate_liquid",
    "check_weights",
    "fill_limits",
    "forbidden_filler_reason",
    "jsonable",
    "substance_for",
    "lot_potency",
    "parse_component_expiries",
    "parse_expiry",
    "plan_aliquot",
    "strength_in_salt",
]
