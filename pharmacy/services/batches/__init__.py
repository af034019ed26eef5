"""Batches (compounding records): start, weigh, quality check, release, fill, recall, trace.

One module per use case; the locking order and shared helpers live in common.py. The names
below are the package's public surface (views, the API, bench and tests import them from here).
"""

from .. import audit
from .common import (
    DEFAULT_QC_SAMPLE,
    FILLABLE_ORDER_STATUSES,
    MASS_UNITS,
    RECALL_HOLD_STATUSES,
    SNAPSHOT_VERSION,
    START_ORDER_STATUSES,
    TRACE_PAGE,
    api_tolerance_of,
    batch_code,
    deviation_percent,
    lot_refusals,
    next_batch_number,
    on_hand,
    to_lot_unit,
    tolerance_of,
    unsigned_api_deviations,
)
from .decisions import recall, recall_lot_batches, reject, release
from .fill import (
    Skipped,
    days_supply,
    dispense,
    fill_all,
    fillable_orders,
    outstanding,
    recall_held,
    still_needed,
)
from .potency import accept_potency, lot_potency, needs_acceptance
from .qc import QcCorrection, QcInput, correct_qc, planned_output, record_qc, sample_size
from .start import StartInput, start_batch
from .trace import CSV_COLUMNS, Trace, iter_recipients, list_batches, trace_batch, trace_lot
from .weighing import WeightEntry, dose_ratio, record_weights, sign_off_api_weight

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_QC_SAMPLE",
    "FILLABLE_ORDER_STATUSES",
    "MASS_UNITS",
    "RECALL_HOLD_STATUSES",
    "SNAPSHOT_VERSION",
    "START_ORDER_STATUSES",
    "QcCorrection",
    "TRACE_PAGE",
    "QcInput",
    "Skipped",
    "StartInput",
    "Trace",
    "WeightEntry",
    "accept_potency",
    "api_tolerance_of",
    "audit",
    "correct_qc",
    "dose_ratio",
    "lot_potency",
    "needs_acceptance",
    "planned_output",
    "sign_off_api_weight",
    "unsigned_api_deviations",
    "batch_code",
    "deviation_percent",
    "days_supply",
    "dispense",
    "fill_all",
    "recall_held",
    "fillable_orders",
    "list_batches",
    "lot_refusals",
    "next_batch_number",
    "on_hand",
    "outstanding",
    "recall",
    "recall_lot_batches",
    "record_qc",
    "record_weights",
    "reject",
    "release",
    "sample_size",
    "start_batch",
    "still_needed",
    "to_lot_unit",
    "tolerance_of",
    "iter_recipients",
    "trace_batch",
    "trace_lot",
]
