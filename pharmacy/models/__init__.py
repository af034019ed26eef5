"""Every model module is imported here so Alembic's autogenerate sees the whole schema."""

from .audit import AuditChainHead, AuditEvent
from .batches import Batch, BatchLotUsage, Dispense, LabelPrint, LabelPrinter, QcResult
from .clinical import (
    Order,
    Patient,
    Prescriber,
    Prescription,
    ScreeningFinding,
    SequenceCounter,
    TitrationStep,
)
from .formulas import Formula, FormulaIngredient
from .handout import FinalCheck, Handout, LabelScan
from .inventory import Balance, Ingredient, IngredientLot, LotAdjustment
from .people import ROLES, ApiToken, PharmacyProfile, User, UserRole, UserSession
from .records import (
    Attachment,
    BalanceCalibration,
    BalanceCheck,
    CleaningRecord,
    StorageHold,
    StoragePlacement,
    StorageUnit,
    TemperatureReading,
    TrainingRecord,
)
from .security import SignInAttempt
from .signatures import Complaint, ElectronicSignature

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditChainHead",
    "Attachment",
    "AuditEvent",
    "Balance",
    "Batch",
    "Complaint",
    "BatchLotUsage",
    "Dispense",
    "ElectronicSignature",
    "FinalCheck",
    "Formula",
    "FormulaIngredient",
    "Handout",
    "Ingredient",
    "IngredientLot",
    "LabelPrint",
    "LabelPrinter",
    "LabelScan",
    "LotAdjustment",
    "Order",
    "Patient",
    "PharmacyProfile",
    "Prescriber",
    "Prescription",
    "QcResult",
    "ScreeningFinding",
    "SequenceCounter",
    "SignInAttempt",
    "TitrationStep",
    "TrainingRecord",
    "BalanceCalibration",
    "BalanceCheck",
    "CleaningRecord",
    "StorageHold",
    "StoragePlacement",
    "StorageUnit",
    "TemperatureReading",
    "User",
    "UserRole",
    "UserSession",
]
