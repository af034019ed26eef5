"""Every model module is imported here so Alembic's autogenerate sees the whole schema."""

from .audit import AuditEvent
from .batches import Batch, BatchLotUsage, Dispense, LabelPrint, QcResult
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

__all__ = [
    "ROLES",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Balance",
    "Batch",
    "BatchLotUsage",
    "Dispense",
    "FinalCheck",
    "Formula",
    "FormulaIngredient",
    "Handout",
    "Ingredient",
    "IngredientLot",
    "LabelPrint",
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
