"""LDN safety screening: findings for the pharmacist, each with a stable code and a severity.

Severities: "warning" (review, never blocks), "contraindicated" (blocks verification unless a
pharmacist overrides it with a written reason), "refused" (blocks, cannot be overridden).

Strengths are compared as given, whatever their basis (HCl or base). The usual-range figures
(0.5-4.5 mg a day) and the 6 mg bound are quoted in the literature for prescriptions that almost
always mean the hydrochloride, and base is only about 10 % more naltrexone per mg; converting
would move a 4.5 mg base prescription (4.98 mg HCl) outside the usual range and raise a warning
the prescriber never meant. The basis is named in the messages so the pharmacist sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pharmacy.domain.errors import FieldError, ValidationFailed
from pharmacy.domain.limits import (
    MAX_LDN_STRENGTH_MG_PER_DOSE,
    USUAL_DAILY_DOSE_MAX_MG,
    USUAL_DAILY_DOSE_MIN_MG,
)
from pharmacy.domain.opioids import Catalogue, contains_phrase, find_opioids, tokens
from pharmacy.domain.titration import TitrationStep, validate_steps

WARNING = "warning"
CONTRAINDICATED = "contraindicated"
REFUSED = "refused"
_RANK = {REFUSED: 0, CONTRAINDICATED: 1, WARNING: 2}

LIVER_DISEASE_VALUES = ("none", "acute_hepatitis", "liver_failure", "other")
STRENGTH_BASES = ("hcl", "base")
_BASIS_LABEL = {"hcl": "naltrexone HCl", "base": "naltrexone base"}
_CATEGORY_LABEL = {
    "analgesic": "an opioid analgesic",
    "dependence_treatment": "an opioid-dependence treatment",
    "antitussive": "an opioid cough medicine",
    "other": "an opioid",
}
# Names under which a patient may record a naltrexone allergy (brands include combinations).
_NALTREXONE_NAMES = tuple(
    tokens(n) for n in ("naltrexone", "LDN", "Revia", "Depade", "Vivitrol", "Contrave", "Mysimba")
)


@dataclass(frozen=True)
class PatientFacts:
    medications: Sequence[str] = ()
    allergies: Sequence[str] = ()
    pregnant: bool = False
    breastfeeding: bool = False
    liver_disease: str = "none"


@dataclass(frozen=True)
class PrescriptionFacts:
    strength_mg: Decimal
    strength_basis: str = "hcl"
    doses_per_day: int = 1
    titration: Sequence[TitrationStep] = ()  # unit steps count units of `strength_mg`


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class ScreeningLimits:
    max_strength_mg_per_dose: Decimal = MAX_LDN_STRENGTH_MG_PER_DOSE
    usual_daily_min_mg: Decimal = USUAL_DAILY_DOSE_MIN_MG
    usual_daily_max_mg: Decimal = USUAL_DAILY_DOSE_MAX_MG


def blocking_findings(findings: Iterable[Finding], overridden: Iterable[str] = ()) -> list[Finding]:
    """Findings that still block verification; `overridden` holds codes a pharmacist overrode."""
    waived = set(overridden)
    return [
        f
        for f in findings
        if f.severity == REFUSED or (f.severity == CONTRAINDICATED and f.code not in waived)
    ]


def blocks_verification(findings: Iterable[Finding], overridden: Iterable[str] = ()) -> bool:
    return bool(blocking_findings(findings, overridden))


def can_override(finding: Finding) -> bool:
    return finding.severity != REFUSED


def _mg(value: Decimal) -> str:
    return f"{value.normalize():f} mg"


def _is_positive(value: object) -> bool:
    return (
        isinstance(value, Decimal | int)
        and not isinstance(value, bool)
        and Decimal(value).is_finite()
        and value > 0
    )


def validate(patient: PatientFacts, prescription: PrescriptionFacts) -> None:
    errors: list[FieldError] = []
    for name in ("medications", "allergies"):
        items = getattr(patient, name)
        # A bare string is a sequence too; taking it letter by letter would hide every match.
        if (
            isinstance(items, str)
            or not isinstance(items, Sequence)
            or not all(isinstance(i, str) for i in items)
        ):
            errors.append(FieldError(f"patient.{name}", f"{name} must be a list of text entries"))
    for name in ("pregnant", "breastfeeding"):
        if not isinstance(getattr(patient, name), bool):
            errors.append(FieldError(f"patient.{name}", f"{name} must be true or false"))
    if patient.liver_disease not in LIVER_DISEASE_VALUES:
        errors.append(
            FieldError(
                "patient.liver_disease",
                f"liver disease must be one of {', '.join(LIVER_DISEASE_VALUES)}",
            )
        )
    if not _is_positive(prescription.strength_mg):
        errors.append(FieldError("prescription.strength_mg", "strength must be greater than 0 mg"))
    if prescription.strength_basis not in STRENGTH_BASES:
        errors.append(
            FieldError("prescription.strength_basis", "strength basis must be hcl or base")
        )
    dpd = prescription.doses_per_day
    if isinstance(dpd, bool) or not isinstance(dpd, int) or dpd < 1:
        errors.append(
            FieldError(
                "prescription.doses_per_day", "doses per day must be a whole number of at least 1"
            )
        )
    if prescription.titration:
        try:
            validate_steps(prescription.titration, field="prescription.titration")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)


@dataclass(frozen=True)
class _Dose:
    label: str  # "prescribed dose" or "titration step 2"
    mg_per_dose: Decimal
    daily_mg: Decimal
    doses_per_day: int

    def describe(self) -> str:
        doses = "dose" if self.doses_per_day == 1 else "doses"
        return (
            f"{self.label}: {_mg(self.mg_per_dose)} × {self.doses_per_day} {doses} a day"
            f" = {_mg(self.daily_mg)} a day"
        )


def _doses(rx: PrescriptionFacts) -> list[_Dose]:
    dpd = rx.doses_per_day
    doses = [_Dose("prescribed dose", rx.strength_mg, rx.strength_mg * dpd, dpd)]
    for number, step in enumerate(rx.titration, start=1):
        mg = step.mg_per_dose(rx.strength_mg)
        doses.append(_Dose(f"titration step {number}", mg, mg * dpd, dpd))
    return doses


def _dose_findings(rx: PrescriptionFacts, lim: ScreeningLimits) -> list[Finding]:
    doses = _doses(rx)
    basis = _BASIS_LABEL[rx.strength_basis]
    usual = f"{lim.usual_daily_min_mg.normalize():f}–{_mg(lim.usual_daily_max_mg)} a day"
    found: list[Finding] = []
    too_strong = [d for d in doses if d.mg_per_dose > lim.max_strength_mg_per_dose]
    if too_strong:
        listed = "; ".join(f"{d.label}: {_mg(d.mg_per_dose)} per dose" for d in too_strong)
        found.append(
            Finding(
                "strength_above_ldn_bound",
                REFUSED,
                f"Not low-dose naltrexone: LDN is at most {_mg(lim.max_strength_mg_per_dose)} "
                f"per dose ({basis}), and this prescription has {listed}.",
            )
        )
    low = [d for d in doses if d.daily_mg < lim.usual_daily_min_mg]
    if low:
        found.append(
            Finding(
                "dose_below_usual_range",
                WARNING,
                f"Daily dose below the usual LDN range of {usual} ({basis}): "
                f"{'; '.join(d.describe() for d in low)}. Confirm the intended dose with the prescriber.",
            )
        )
    high = [d for d in doses if d.daily_mg > lim.usual_daily_max_mg]
    if high:
        found.append(
            Finding(
                "dose_above_usual_range",
                WARNING,
                f"Daily dose above the usual LDN range of {usual} ({basis}): "
                f"{'; '.join(d.describe() for d in high)}. Confirm the intended dose with the prescriber.",
            )
        )
    return found


def _opioid_findings(medications: Sequence[str], catalogue: Catalogue | None) -> list[Finding]:
    found = []
    for m in find_opioids(medications, catalogue):
        named = (
            m.generic
            if m.matched_name.casefold() == m.generic
            else f"{m.generic} ({m.matched_name})"
        )
        found.append(
            Finding(
                "opioid_comedication",
                CONTRAINDICATED,
                f"Current medication “{m.medication}” is {_CATEGORY_LABEL[m.category]}: {named}. "
                "Naltrexone blocks opioid receptors, so the opioid stops working and naltrexone can "
                "precipitate acute opioid withdrawal. The patient must be off opioids "
                "(usually 7–10 days) before starting LDN.",
            )
        )
    return found


def _clinical_findings(patient: PatientFacts) -> list[Finding]:
    found = []
    if patient.pregnant:
        found.append(
            Finding(
                "pregnancy",
                WARNING,
                "Patient is pregnant: there are no adequate safety data for naltrexone in pregnancy. "
                "Use only if the prescriber confirms the benefit justifies the risk.",
            )
        )
    if patient.breastfeeding:
        found.append(
            Finding(
                "breastfeeding",
                WARNING,
                "Patient is breastfeeding: naltrexone passes into breast milk and safety data are "
                "limited. Confirm with the prescriber and advise monitoring the infant.",
            )
        )
    if patient.liver_disease in ("acute_hepatitis", "liver_failure"):
        condition = patient.liver_disease.replace("_", " ")
        found.append(
            Finding(
                "liver_disease",
                CONTRAINDICATED,
                f"Patient has {condition}: naltrexone is contraindicated in acute hepatitis or "
                "liver failure (hepatotoxicity warning in the labeling).",
            )
        )
    elif patient.liver_disease == "other":
        found.append(
            Finding(
                "liver_disease",
                WARNING,
                "Patient has liver disease: naltrexone is metabolised by the liver. Review liver "
                "function with the prescriber.",
            )
        )
    return found


# Words that describe the reaction or the grade, not the substance: "lactose intolerance",
# "allergic to gelatin", "lactose monohydrate NF", "gelatin capsule".
_NOISE = frozenset(
    [
        "allergy",
        "allergic",
        "allergies",
        "to",
        "intolerance",
        "intolerant",
        "sensitivity",
        "sensitive",
        "reaction",
        "hives",
        "rash",
        "itching",
        "swelling",
        "anaphylaxis",
        "severe",
        "mild",
        "moderate",
        "unknown",
        "monohydrate",
        "anhydrous",
        "dihydrate",
        "hydrate",
        "usp",
        "nf",
        "ph",
        "powder",
        "capsule",
        "capsules",
        "shell",
        "shells",
        "size",
        "empty",
    ]
)
_ALLERGY_PARTS = re.compile(r"[(),;:/]|\s[-–]\s")


def _core(text: str) -> tuple[str, ...]:
    return tuple(t for t in tokens(text) if t not in _NOISE)


def _allergens(entry: str) -> list[tuple[str, ...]]:
    """Substance names in an allergy entry; "Avicel (microcrystalline cellulose)" gives two,
    "Lactose (hives)" gives one once the reaction word drops out."""
    # A part with no letters ("(1998)", "(3)") names no substance.
    cores = (_core(part) for part in _ALLERGY_PARTS.split(entry))
    return [core for core in cores if any(not t.isdigit() for t in core)]


def _allergy_matches(entry: str, excipient: str) -> bool:
    substance = _core(excipient)
    return bool(substance) and any(
        contains_phrase(substance, allergen) or contains_phrase(allergen, substance)
        for allergen in _allergens(entry)
    )


def _allergy_findings(allergies: Sequence[str], excipients: Sequence[str]) -> list[Finding]:
    found = []
    for allergy in allergies:
        allergy_tokens = tokens(allergy)
        if any(contains_phrase(allergy_tokens, name) for name in _NALTREXONE_NAMES):
            found.append(
                Finding(
                    "allergy_naltrexone",
                    CONTRAINDICATED,
                    f"Recorded allergy “{allergy}” is to naltrexone: naltrexone is contraindicated "
                    "in patients sensitive to it.",
                )
            )
    for excipient in excipients:
        hits = [a for a in allergies if _allergy_matches(a, excipient)]
        if hits:
            found.append(
                Finding(
                    "allergy_excipient",
                    CONTRAINDICATED,
                    f"Recorded allergy {', '.join(f'“{a}”' for a in hits)} matches “{excipient}”, "
                    "an ingredient of the chosen formula. Choose a formula without it or confirm "
                    "the allergy with the patient.",
                )
            )
    return found


def excipient_allergies(allergies: Sequence[str], excipients: Sequence[str]) -> list[Finding]:
    """Only the excipient findings: for a formula chosen after intake (at batch start)."""
    return [f for f in _allergy_findings(allergies, excipients) if f.code == "allergy_excipient"]


def screen(
    patient: PatientFacts,
    prescription: PrescriptionFacts,
    *,
    excipients: Sequence[str] = (),
    other_active_prescriptions: Sequence[str | int] = (),
    limits: ScreeningLimits | None = None,
    catalogue: Catalogue | None = None,
) -> list[Finding]:
    """All findings, most serious first. Raises ValidationFailed for malformed input.

    `excipients`: ingredient names of the chosen formula other than naltrexone.
    `other_active_prescriptions`: ids or Rx numbers of the patient's other active LDN
    prescriptions (the caller leaves out the one being screened).
    """
    validate(patient, prescription)
    found = _dose_findings(prescription, limits or ScreeningLimits())
    found += _opioid_findings(patient.medications, catalogue)
    found += _clinical_findings(patient)
    found += _allergy_findings(patient.allergies, excipients)
    if other_active_prescriptions:
        refs = ", ".join(str(r) for r in other_active_prescriptions)
        found.append(
            Finding(
                "duplicate_prescription",
                WARNING,
                f"Patient already has an active LDN prescription ({refs}). Check this is not a "
                "duplicate; if it replaces the old one, cancel the old one.",
            )
        )
    return sorted(found, key=lambda f: _RANK[f.severity])
