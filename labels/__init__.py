"""Pure rendering of labels and printed documents: plain frozen dataclasses in, PDF bytes out.

Nothing here imports the app or the database; `pharmacy` gathers the data and calls this API.
Every function refuses bad input with a LabelError subclass before any PDF exists.
"""

from .barcodes import rx_barcode_value
from .batch import render_batch_label
from .data import (
    COMPOUNDED_STATEMENT,
    DEFAULT_JOURNAL_ROWS,
    BatchLabelData,
    CalculationStep,
    DispensingLabelData,
    EquipmentUse,
    LeafletData,
    LotUsage,
    MedWatchData,
    Pharmacy,
    QcCheck,
    QcSummary,
    QcWeight,
    Signature,
    TitrationKitData,
    TitrationStep,
    WorksheetData,
)
from .dispensing import (
    WARN_BEDTIME,
    WARN_CHILDREN,
    WARN_DREAMS,
    WARN_OPIOID,
    auxiliary_warnings,
    render_dispensing_labels,
)
from .errors import (
    InvalidField,
    InvalidStartPosition,
    LabelDoesNotFit,
    LabelError,
    MissingField,
    UnknownStock,
)
from .leaflet import render_leaflet
from .medwatch import render_medwatch
from .stocks import DEFAULT_BATCH_STOCK, DEFAULT_STOCK, STOCKS, Box, LabelStock, get_stock
from .titration import (
    TitrationKitDocuments,
    render_titration_calendar,
    render_titration_kit,
    render_titration_labels,
)
from .worksheet import render_worksheet

__all__ = [
    "MedWatchData",
    "render_medwatch",
    "COMPOUNDED_STATEMENT",
    "DEFAULT_BATCH_STOCK",
    "DEFAULT_JOURNAL_ROWS",
    "DEFAULT_STOCK",
    "STOCKS",
    "WARN_BEDTIME",
    "WARN_CHILDREN",
    "WARN_DREAMS",
    "WARN_OPIOID",
    "BatchLabelData",
    "Box",
    "CalculationStep",
    "DispensingLabelData",
    "EquipmentUse",
    "InvalidField",
    "InvalidStartPosition",
    "LabelDoesNotFit",
    "LabelError",
    "LabelStock",
    "LeafletData",
    "LotUsage",
    "MissingField",
    "Pharmacy",
    "QcCheck",
    "QcSummary",
    "QcWeight",
    "Signature",
    "TitrationKitData",
    "TitrationKitDocuments",
    "TitrationStep",
    "UnknownStock",
    "WorksheetData",
    "auxiliary_warnings",
    "get_stock",
    "render_batch_label",
    "render_dispensing_labels",
    "render_leaflet",
    "render_titration_calendar",
    "render_titration_kit",
    "render_titration_labels",
    "render_worksheet",
    "rx_barcode_value",
]
