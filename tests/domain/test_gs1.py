"""GS1 container barcodes: GTIN, lot and expiry from raw (GS-separated) and bracketed scans."""

from datetime import date

import pytest

from pharmacy.domain import gs1
from pharmacy.domain.errors import ValidationFailed

GTIN = "00300123456785"


def test_datamatrix_with_symbology_identifier_and_gs_separator():
    scan = gs1.parse_container_scan(f"]d201{GTIN}10LOT-A1\x1d17270331\r\n")
    assert scan == gs1.ContainerScan(GTIN, None, "LOT-A1", date(2027, 3, 31), False)
    assert scan.expiry_text == "2027-03-31"


def test_bracketed_form_and_month_only_expiry():
    scan = gs1.parse_container_scan(f"(01){GTIN}(17)270200(10)B7")
    assert scan.lot_number == "B7"
    assert scan.expires_on == date(2027, 2, 28) and scan.expiry_month_only
    assert scan.expiry_text == "2027-02"


def test_gtin_13_is_kept_as_14_digits():
    assert gs1.normalize_gtin("0300123456785") == GTIN
    assert gs1.normalize_gtin("  ") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "scan the container"),
        ("hello", "not a GS1 container barcode"),
        ("(10)ABC(17)270331", "names no product"),
        ("0100300123456786", "check digit"),
    ],
)
def test_bad_scans_are_refused_with_the_reason(text, message):
    with pytest.raises(ValidationFailed) as exc:
        gs1.parse_container_scan(text, "scan")
    assert exc.value.errors[0].field == "scan"
    assert message in exc.value.errors[0].message


def test_pharmacy_label_payload_round_trips():
    payload = gs1.lot_label_payload(None, 7, "A-123", date(2027, 3, 31), False)
    assert payload == "(91)ING7(10)A-123(17)270331"
    scan = gs1.parse_container_scan(payload)
    assert (scan.ingredient_id, scan.gtin, scan.lot_number) == (7, None, "A-123")
    month = gs1.lot_label_payload(GTIN, 7, "A-123", date(2027, 3, 31), True)
    assert month == f"(01){GTIN}(10)A-123(17)270300"


def test_wrong_ingredient_and_wrong_lot_are_named():
    expected = gs1.ExpectedContainer(3, "Naltrexone hydrochloride USP", GTIN, "NTX-1")
    right = gs1.parse_container_scan(f"01{GTIN}10ntx-1")
    assert gs1.container_mismatch(right, expected) is None
    other_lot = gs1.parse_container_scan(f"01{GTIN}10NTX-2")
    assert gs1.container_mismatch(other_lot, expected) == (
        "wrong lot: the container is lot NTX-2, this line uses lot NTX-1"
    )
    other = gs1.parse_container_scan("(01)00300999999997(10)NTX-1")
    assert gs1.container_mismatch(other, expected).startswith(
        "wrong ingredient: GTIN 00300999999997 is not Naltrexone"
    )
    label = gs1.parse_container_scan("(91)ING4(10)NTX-1")
    assert "wrong ingredient" in gs1.container_mismatch(label, expected)
    no_lot = gs1.parse_container_scan(f"01{GTIN}")
    assert "no lot number" in gs1.container_mismatch(no_lot, expected)
