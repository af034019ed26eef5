"""Reference data the rules read: ingredient data, capsule volumes, BUD categories, fillers.

Everything here is a default. Callers may pass their own ``CalcTables`` (e.g. a pharmacy's
measured capsule volumes) without touching the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from pharmacy.domain.limits import MAX_LDN_STRENGTH_MG_PER_DOSE


@dataclass(frozen=True)
class ApiSubstance:
    """An API with the salt it is stocked as and the free base prescriptions may name."""

    name: str
    salt_name: str
    salt_mw: Decimal
    base_name: str
    base_mw: Decimal
    # Set when the stock is the free base: the MW of the salt (HCl) a strength may be named in.
    prescribed_salt_mw: Decimal | None = None


# USP monograph / FDA labeling molecular weights (reference §3.4).
NALTREXONE = ApiSubstance(
    name="naltrexone",
    salt_name="naltrexone hydrochloride",
    salt_mw=Decimal("377.86"),
    base_name="naltrexone base",
    base_mw=Decimal("341.40"),
)


def substance_for(
    salt_form: str | None, molecular_weight: Decimal | None, base_molecular_weight: Decimal | None
) -> ApiSubstance:
    """Naltrexone as the lot's ingredient records it. A base powder is weighed as base: an
    HCl strength is converted down by the molecular weights, never weighed as if it were HCl."""
    base_mw = base_molecular_weight or NALTREXONE.base_mw
    if salt_form == "base":
        return ApiSubstance(
            name=NALTREXONE.name,
            salt_name=NALTREXONE.base_name,
            salt_mw=molecular_weight or base_mw,
            base_name=NALTREXONE.base_name,
            base_mw=molecular_weight or base_mw,
            prescribed_salt_mw=NALTREXONE.salt_mw,
        )
    return ApiSubstance(
        name=NALTREXONE.name,
        salt_name=NALTREXONE.salt_name,
        salt_mw=molecular_weight or NALTREXONE.salt_mw,
        base_name=NALTREXONE.base_name,
        base_mw=base_mw,
    )


# UNC volumes with #4 = 0.21 mL (manufacturer consensus), reference §3.1.
CAPSULE_VOLUMES_ML: Mapping[str, Decimal] = MappingProxyType(
    {
        "000": Decimal("1.37"),
        "00": Decimal("0.95"),
        "0": Decimal("0.68"),
        "1": Decimal("0.50"),
        "2": Decimal("0.37"),
        "3": Decimal("0.30"),
        "4": Decimal("0.21"),
        "5": Decimal("0.13"),
    }
)

CAPSULE = "capsule"
LIQUID = "liquid"

STORAGE_ROOM_OR_FRIDGE = "Store at controlled room temperature or in a refrigerator."
STORAGE_FRIDGE = "Store in a refrigerator (2–8 °C)."


@dataclass(frozen=True)
class BudCategory:
    key: str
    label: str
    days: int
    storage: str
    # Which dosage forms may use this category, so a capsule can never get a liquid's BUD.
    dosage_forms: frozenset[str]


def _category(key: str, label: str, days: int, storage: str, *forms: str) -> BudCategory:
    return BudCategory(key, label, days, storage, frozenset(forms))


# USP <795> (2023) maximum BUDs without CNSP-specific stability data, reference §1.5.
BUD_CATEGORIES: Mapping[str, BudCategory] = MappingProxyType(
    {
        c.key: c
        for c in (
            _category(
                "other_nonaqueous",
                "other nonaqueous dosage forms incl. capsules",
                180,
                STORAGE_ROOM_OR_FRIDGE,
                CAPSULE,
            ),
            _category(
                "nonaqueous_oral_liquid",
                "nonaqueous oral liquids",
                90,
                STORAGE_ROOM_OR_FRIDGE,
                LIQUID,
            ),
            _category(
                "preserved_aqueous",
                "preserved aqueous preparations",
                35,
                STORAGE_ROOM_OR_FRIDGE,
                LIQUID,
            ),
            _category(
                "non_preserved_aqueous",
                "non-preserved aqueous preparations",
                14,
                STORAGE_FRIDGE,
                LIQUID,
            ),
        )
    }
)

DEFAULT_CAPSULE_BUD_CATEGORY = "other_nonaqueous"

# Fillers refused for LDN (R12), with the reason printed in the error. Matching ignores case,
# spaces and punctuation, so "Hydroxypropyl-methylcellulose" and "HPMC K4M" are both caught.
FORBIDDEN_LDN_FILLERS: Mapping[str, str] = MappingProxyType(
    {
        "calcium carbonate": "reduces naltrexone absorption",
        "hypromellose": "slow-release excipient",
        "hpmc": "slow-release excipient (hypromellose)",
        "methylcellulose": "slow-release excipient",
        "methyl cellulose": "slow-release excipient",
        "methocel": "slow-release excipient (methylcellulose/hypromellose)",
        "ethylcellulose": "slow-release excipient",
        "ethyl cellulose": "slow-release excipient",
        "carbomer": "slow-release excipient",
    }
)

DEFAULT_MWQ_MG = Decimal("120")
DEFAULT_FILL_TOLERANCE_PERCENT = Decimal("10")


def _capsule_volumes() -> Mapping[str, Decimal]:
    return CAPSULE_VOLUMES_ML


def _bud_categories() -> Mapping[str, BudCategory]:
    return BUD_CATEGORIES


def _forbidden_fillers() -> Mapping[str, str]:
    return FORBIDDEN_LDN_FILLERS


@dataclass(frozen=True)
class CalcTables:
    """The configurable data one pharmacy runs with."""

    capsule_volumes_ml: Mapping[str, Decimal] = field(default_factory=_capsule_volumes)
    bud_categories: Mapping[str, BudCategory] = field(default_factory=_bud_categories)
    forbidden_fillers: Mapping[str, str] = field(default_factory=_forbidden_fillers)
    max_strength_mg: Decimal = MAX_LDN_STRENGTH_MG_PER_DOSE


DEFAULT_TABLES = CalcTables()


def _compact(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def forbidden_filler_reason(name: str, forbidden: Mapping[str, str]) -> str | None:
    """Return why ``name`` is refused for LDN, or None when it is acceptable."""
    compact_name = _compact(name)
    for term, reason in forbidden.items():
        if _compact(term) and _compact(term) in compact_name:
            return f"{term} — {reason}"
    return None


def normalise_capsule_size(size: object) -> str:
    text = str(size).strip()
    return text[1:].strip() if text.startswith("#") else text
