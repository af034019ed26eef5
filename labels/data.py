"""Plain, frozen inputs for every document. The app builds these; nothing here knows the ORM.

Required values are checked on construction so that a bad record is refused before any
rendering starts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from .errors import InvalidField, MissingField

# [C] in the LDN reference: USP recommends an indication of compounding; several states require it.
COMPOUNDED_STATEMENT = "This is a compounded drug."

Number = int | Decimal


def _check(obj: object, document: str, optional: tuple[str, ...] = ()) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        if f.name in optional:
            continue
        value = getattr(obj, f.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingField(document, f.name)
        expected = f.type if isinstance(f.type, str) else ""
        if expected == "date" and not isinstance(value, date):
            raise InvalidField(document, f.name, f"must be a date, not {type(value).__name__}")
        if expected == "int" and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidField(document, f.name, "must be a whole number of 0 or more")
        if expected == "Number" and (
            not isinstance(value, int | Decimal) or isinstance(value, bool) or value <= 0
        ):
            raise InvalidField(document, f.name, "must be a positive int or Decimal")


@dataclass(frozen=True)
class Pharmacy:
    name: str
    address: str
    phone: str

    def __post_init__(self) -> None:
        _check(self, "pharmacy")


@dataclass(frozen=True)
class DispensingLabelData:
    pharmacy: Pharmacy
    rx_number: str
    fill_number: int
    patient_name: str
    preparation: str  # as prescribed, salt or base: "Naltrexone HCl 4.5 mg capsules"
    quantity: Number
    quantity_unit: str  # "capsules", "mL"
    directions: str
    prescriber: str
    date_filled: date
    refills_remaining: int
    batch_number: str
    beyond_use_date: date
    storage: str
    pharmacist_initials: str
    compounded_statement: str = COMPOUNDED_STATEMENT
    # The final check carries the pharmacist's electronic signature (printed next to the RPh).
    pharmacist_esigned: bool = False
    extra_warnings: tuple[str, ...] = ()
    caption: str = ""  # e.g. the titration step line

    def __post_init__(self) -> None:
        _check(self, "dispensing label", optional=("extra_warnings", "caption"))
        if self.beyond_use_date < self.date_filled:
            raise InvalidField("dispensing label", "beyond_use_date", "is before date_filled")


@dataclass(frozen=True)
class BatchLabelData:
    batch_number: str
    preparation: str
    strength: str  # "4.5 mg per capsule"
    quantity_made: Number
    quantity_unit: str
    date_compounded: date
    beyond_use_date: date
    storage: str
    compounded_by: str
    checked_by: str
    pharmacy_name: str = ""
    notes: tuple[str, ...] = ()  # the formula's labelling notes, e.g. "Shake well."

    def __post_init__(self) -> None:
        _check(self, "batch label", optional=("pharmacy_name", "notes"))
        if self.beyond_use_date < self.date_compounded:
            raise InvalidField("batch label", "beyond_use_date", "is before date_compounded")


@dataclass(frozen=True)
class TitrationStep:
    start_date: date
    days: int
    dose: str  # "1.5 mg"
    preparation: str
    quantity: Number
    quantity_unit: str
    directions: str
    batch_number: str
    beyond_use_date: date

    def __post_init__(self) -> None:
        _check(self, "titration step")
        if self.days < 1:
            raise InvalidField("titration step", "days", "must be at least 1")


@dataclass(frozen=True)
class TitrationKitData:
    pharmacy: Pharmacy
    rx_number: str
    fill_number: int
    patient_name: str
    prescriber: str
    date_filled: date
    refills_remaining: int
    storage: str
    pharmacist_initials: str
    steps: tuple[TitrationStep, ...]
    compounded_statement: str = COMPOUNDED_STATEMENT
    extra_warnings: tuple[str, ...] = ()
    pharmacist_esigned: bool = False

    def __post_init__(self) -> None:
        _check(self, "titration kit", optional=("extra_warnings",))
        if not self.steps:
            raise MissingField("titration kit", "steps")
        for earlier, later in zip(self.steps, self.steps[1:], strict=False):
            if (later.start_date - earlier.start_date).days < earlier.days:
                raise InvalidField(
                    "titration kit", "steps", "must be in date order without overlapping days"
                )


@dataclass(frozen=True)
class CalculationStep:
    label: str
    formula: str  # "4.5 mg × 1.106796 (base → HCl)"
    value: Number | str
    unit: str = ""


@dataclass(frozen=True)
class LotUsage:
    component: str
    lot_number: str
    expiry: date
    planned: Decimal
    actual: Decimal | None
    unit: str
    manufacturer: str = ""
    weighed_by: str = ""  # initials once recorded; blank leaves a line for the bench
    weight_source: str = ""  # "captured" (read from the balance) or "typed"; blank: not known


@dataclass(frozen=True)
class EquipmentUse:
    kind: str  # "Balance"
    identifier: str  # "BAL-02"
    detail: str = ""  # "Class III, calibrated 2026-01-05"


@dataclass(frozen=True)
class QcWeight:
    index: int
    gross_mg: Decimal
    net_mg: Decimal | None
    passed: bool


@dataclass(frozen=True)
class QcCheck:
    name: str
    expected: str
    result: str
    passed: bool | None = None  # None: recorded, not judged


@dataclass(frozen=True)
class QcSummary:
    target_net_mg: Decimal
    lower_mg: Decimal
    upper_mg: Decimal
    mean_mg: Decimal
    passed: bool
    checks: tuple[QcCheck, ...] = ()


@dataclass(frozen=True)
class Signature:
    role: str  # "Compounded by"
    name: str = ""  # empty leaves a line for a wet signature
    signed_on: date | None = None
    # An electronic signature replaces the wet one: its meaning and time, printed in its box.
    esigned: str = ""


@dataclass(frozen=True)
class WorksheetData:
    pharmacy_name: str
    batch_number: str
    formula_name: str
    formula_version: str
    preparation: str
    strength: str
    dosage_form: str
    quantity: str  # "120 capsules (100 + 20% overage)"
    date_compounded: date
    beyond_use_date: date
    bud_basis: str  # "USP <795> 180 days; limited by Avicel lot L123 expiry"
    storage: str
    steps: tuple[CalculationStep, ...]
    lots: tuple[LotUsage, ...]
    equipment: tuple[EquipmentUse, ...]
    qc_weights: tuple[QcWeight, ...] = ()
    qc: QcSummary | None = None
    signatures: tuple[Signature, ...] = (
        Signature("Compounded by"),
        Signature("Checked by"),
        Signature("Released by"),
    )
    notes: str = ""
    prescription_ref: str = ""  # Rx/order number when made for one patient
    method_steps: tuple[str, ...] = ()  # the MFR's compounding steps, each initialled
    qc_checks: tuple[QcCheck, ...] = ()  # checks other than capsule weights (liquids)
    qc_verdict: str = ""  # "PASS - recorded by ... on ..."; empty before QC
    qc_blank_rows: int = 0  # capsules to weigh when no weights are recorded yet

    def __post_init__(self) -> None:
        _check(
            self,
            "worksheet",
            optional=(
                "qc",
                "notes",
                "prescription_ref",
                "qc_weights",
                "method_steps",
                "qc_checks",
                "qc_verdict",
                "qc_blank_rows",
            ),
        )


DEFAULT_JOURNAL_ROWS: tuple[str, ...] = (
    "Main symptom (0-10)",
    "Pain (0-10)",
    "Fatigue (0-10)",
    "Brain fog (0-10)",
    "Low mood (0-10)",
    "Trouble sleeping (0-3)",
    "Vivid dreams (0-3)",
    "Headache (0-3)",
    "Nausea (0-3)",
)


@dataclass(frozen=True)
class LeafletData:
    pharmacy: Pharmacy
    patient_name: str = ""
    preparation: str = ""
    directions: str = ""
    rx_number: str = ""
    journal_weeks: int = 12
    journal_start: date | None = None
    journal_rows: tuple[str, ...] = DEFAULT_JOURNAL_ROWS

    def __post_init__(self) -> None:
        if not 1 <= self.journal_weeks <= 52:
            raise InvalidField("leaflet", "journal_weeks", "must be between 1 and 52")


@dataclass(frozen=True)
class MedWatchData:
    """A complaint or adverse event as an FDA MedWatch 3500-style report (sections A–E)."""

    pharmacy: Pharmacy
    report_id: str
    kind: str  # "Adverse event" / "Product complaint"
    serious: bool
    severity: str
    event_date: date
    received_on: date
    description: str
    product: str
    reporter_name: str
    reporter_role: str
    patient_initials: str = ""
    patient_age: str = ""
    patient_sex: str = ""
    batch_number: str = ""
    strength: str = ""
    beyond_use_date: date | None = None
    order_number: str = ""
    rx_number: str = ""
    directions: str = ""
    reporter_contact: str = ""
    review: str = ""
    reviewed_by: str = ""
